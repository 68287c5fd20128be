import Foundation

/// Runs a binary on a real pseudo-terminal `columns` wide (Python's `pty`): its stdin, stdout and
/// stderr are the terminal, as for a person at a laptop, also where the tests themselves have no
/// terminal (CI). `COLUMNS`, `LINES` and `NO_COLOR` of the test's environment are not passed on;
/// `environment` is. The output is what the terminal showed, with line ends as `\n`.
func inTerminal(columns: Int, _ tool: String, _ arguments: [String], environment: [String: String]) async throws -> Run {
    let script = """
        import os, pty, sys, fcntl, termios, struct
        columns, settings, argv = int(sys.argv[1]), sys.argv[2].split("\\n") if sys.argv[2] else [], sys.argv[3:]
        for name in ("COLUMNS", "LINES", "NO_COLOR"):
            os.environ.pop(name, None)
        for setting in settings:
            name, value = setting.split("=", 1)
            os.environ[name] = value
        pid, fd = pty.fork()
        if pid == 0:
            fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
            os.execv(argv[0], argv)
        out = b""
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
        _, status = os.waitpid(pid, 0)
        sys.stdout.buffer.write(out.replace(b"\\r\\n", b"\\n"))
        sys.exit(os.waitstatus_to_exitcode(status))
        """
    let settings = environment.map { "\($0.key)=\($0.value)" }.joined(separator: "\n")
    return try await run("/usr/bin/env", ["python3", "-c", script, String(columns), settings, tool] + arguments, environment: [:])
}

/// `text` without ANSI escape sequences (colour and emphasis).
func withoutEscapes(_ text: String) -> String {
    text.replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression)
}
