import CIncidentShims
import Foundation
import Logging

/// A private PostgreSQL cluster in a directory of its own: created with `initdb` on first use,
/// listening only on a Unix socket inside that directory (no TCP), stopped cleanly.
///
/// PostgreSQL refuses to run as root; when this process is root, the server runs as the
/// `postgres` system user (through `runuser`) and the directory is handed to that user.
public struct LocalCluster: Sendable {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The cluster's data directory; the socket lives here too.
    public let dataDirectory: String
    /// Extra server settings written into the cluster's configuration (e.g. `max_connections`).
    public let settings: [String: String]
    /// The socket's port number (it names the socket file; nothing listens on TCP).
    public let port: Int
    private let binDirectory: String

    public init(dataDirectory: String, settings: [String: String] = [:], port: Int = 5432) throws {
        let path = URL(fileURLWithPath: dataDirectory).standardizedFileURL.path
        self.dataDirectory = path
        self.settings = settings
        self.port = port
        self.binDirectory = try Self.findBinDirectory()
        // Unix socket paths are limited to 107 bytes.
        let socketPath = "\(path)/.s.PGSQL.\(port)"
        guard socketPath.utf8.count < 108 else {
            throw Failure(description: "data directory path is too long for a Unix socket (\(socketPath.utf8.count) bytes, at most 107): \(path)")
        }
    }

    /// libpq connection string for `database` as the cluster's superuser.
    public func conninfo(database: String = "postgres") -> String {
        "host='\(ConnectionString.quoted(dataDirectory))' port=\(port) user=postgres dbname='\(ConnectionString.quoted(database))' connect_timeout=5"
    }

    public var isInitialized: Bool {
        FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION")
    }

    /// Creates the cluster if needed and starts it unless it already runs; waits until it accepts connections.
    public func start(logger: Logger) throws {
        if !isInitialized {
            try initialize(logger: logger)
        }
        if isRunning() {
            logger.info("local PostgreSQL already running", metadata: ["db.data_dir": "\(dataDirectory)"])
            return
        }
        try runAsServerUser(binDirectory + "/pg_ctl", [
            "-D", dataDirectory, "-l", dataDirectory + "/postgresql.log", "-w", "-t", "60", "start",
        ], what: "start PostgreSQL")
        logger.info("local PostgreSQL started", metadata: ["db.data_dir": "\(dataDirectory)"])
    }

    /// Stops the server (fast mode: active sessions are ended, pending work is written).
    public func stop(logger: Logger) throws {
        guard isRunning() else { return }
        try runAsServerUser(binDirectory + "/pg_ctl", ["-D", dataDirectory, "-m", "fast", "-w", "-t", "60", "stop"], what: "stop PostgreSQL")
        logger.info("local PostgreSQL stopped", metadata: ["db.data_dir": "\(dataDirectory)"])
    }

    public func isRunning() -> Bool {
        guard isInitialized else { return false }
        return (try? runAsServerUser(binDirectory + "/pg_ctl", ["-D", dataDirectory, "status"], what: "status")) != nil
    }

    private func initialize(logger: Logger) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if Self.isRoot {
            try Self.run("/bin/chown", ["postgres:postgres", dataDirectory], what: "hand the data directory to the postgres user")
            try Self.run("/bin/chmod", ["0700", dataDirectory], what: "restrict the data directory")
            // The server user must be able to reach the directory through its parents.
            try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", "test", "-x", dataDirectory], what: "check that the postgres user can reach \(dataDirectory) (every parent directory needs o+x)")
        }
        try runAsServerUser(binDirectory + "/initdb", [
            "-D", dataDirectory, "-U", "postgres", "-E", "UTF8", "--no-locale",
            "--auth-local=trust", "--auth-host=reject",
        ], what: "create the PostgreSQL cluster (initdb)")
        var conf = """

        # --- incident-log: private cluster, Unix socket in the data directory only ---
        listen_addresses = ''
        unix_socket_directories = '\(dataDirectory)'
        unix_socket_permissions = 0700
        port = \(port)
        timezone = 'UTC'

        """
        for (key, value) in settings.sorted(by: { $0.key < $1.key }) {
            conf += "\(key) = '\(value)'\n"
        }
        let confPath = dataDirectory + "/postgresql.conf"
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: confPath))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(conf.utf8))
        try handle.close()
        logger.info("local PostgreSQL cluster created", metadata: ["db.data_dir": "\(dataDirectory)"])
    }

    /// Path of one of PostgreSQL's programs (`pg_restore`, `pg_dump`) of the cluster's version.
    public func tool(_ name: String) -> String { binDirectory + "/" + name }

    /// Runs one of PostgreSQL's client programs (`pg_restore`, `psql`) as this process's user;
    /// a non-zero exit throws with what it printed.
    @discardableResult
    public func runClient(_ name: String, _ arguments: [String], what: String) throws -> String {
        try Self.run(tool(name), arguments, what: what)
    }

    /// Moves the stopped cluster's transaction counter to `next` (a full 64-bit `xid8`) when it
    /// is below, as pg_upgrade does: `pg_resetwal -x -e` on a cleanly shut down cluster, plus the
    /// commit-log segment the new counter lands in (pg_resetwal leaves it to the caller). Returns
    /// the counter before the move, nil when it was at or beyond `next` already.
    ///
    /// Needed after restoring a dump into a new cluster: the log stores its writers' transaction
    /// ids (`events.transaction_id`), and readers go by them (PRODUCT.md §4.4). A new cluster counts
    /// from a few hundred, so without this, appends after the restore would sort before the
    /// restored events, behind the projections' checkpoints, and never be read.
    @discardableResult
    public func advanceTransactionIDs(to next: UInt64, logger: Logger) throws -> UInt64? {
        guard !isRunning() else { throw Failure(description: "stop the cluster before moving its transaction counter") }
        let control = try runAsServerUser(binDirectory + "/pg_controldata", [dataDirectory], what: "read the cluster's control file")
        func field(_ name: String) -> String? {
            control.split(separator: "\n").first { $0.hasPrefix(name) }.map { $0.split(separator: ":", maxSplits: 1).last!.trimmingCharacters(in: .whitespaces) }
        }
        guard field("Database cluster state") == "shut down",
              let value = field("Latest checkpoint's NextXID"), let slash = value.firstIndex(of: ":"),
              let epoch = UInt64(value[..<slash]), let xid = UInt64(value[value.index(after: slash)...])
        else { throw Failure(description: "the cluster was not shut down cleanly, or its control file is unreadable: \(control.prefix(400))") }
        let current = epoch << 32 | xid
        // The low half must also stay ahead of the new cluster's frozen horizon (a few hundred).
        var target = next
        if target & 0xFFFF_FFFF < xid + 1000 { target = (target & ~0xFFFF_FFFF) | (xid + 1000) }
        guard target > current else { return nil }
        let (newEpoch, newXID) = (target >> 32, target & 0xFFFF_FFFF)
        // The commit log (pg_xact) holds 2 bits per transaction in 256 kB segments of 1,048,576
        // transactions; the server reads the segment of the counter at start.
        let segment = dataDirectory + "/pg_xact/" + String(format: "%04X", newXID / 1_048_576)
        if !FileManager.default.fileExists(atPath: segment) {
            guard FileManager.default.createFile(atPath: segment, contents: Data(count: 262_144), attributes: [.posixPermissions: 0o600]) else {
                throw Failure(description: "cannot create \(segment)")
            }
            if Self.isRoot { try Self.run("/bin/chown", ["postgres:postgres", segment], what: "hand \(segment) to the postgres user") }
        }
        try runAsServerUser(binDirectory + "/pg_resetwal", ["-e", String(newEpoch), "-x", String(newXID), "-D", dataDirectory],
                            what: "move the cluster's transaction counter (pg_resetwal)")
        logger.info("moved the cluster's transaction counter", metadata: ["db.xid.before": "\(current)", "db.xid.after": "\(target)"])
        return current
    }

    // MARK: - Processes

    static var isRoot: Bool { geteuid() == 0 }

    @discardableResult
    private func runAsServerUser(_ tool: String, _ arguments: [String], what: String) throws -> String {
        if Self.isRoot {
            return try Self.run("/usr/sbin/runuser", ["-u", "postgres", "--", tool] + arguments, what: what)
        }
        return try Self.run(tool, arguments, what: what)
    }

    /// Runs a tool to completion; a non-zero exit throws with what it printed.
    ///
    /// Spawned with `posix_spawn`, every descriptor of ours closed in the child: `pg_ctl start`
    /// leaves a server running that would otherwise inherit them (a pipe it never closes, the
    /// daemon's listening socket). Foundation's `Process` waits for such inherited descriptors and
    /// never returns here.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String], what: String) throws -> String {
        let outputPath = FileManager.default.temporaryDirectory.path + "/incident-tool-\(UUID().uuidString).log"
        let output = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw Failure(description: "could not \(what): cannot create \(outputPath)") }
        defer {
            close(output)
            unlink(outputPath)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, output, 2)
        incident_spawn_addclosefrom(&actions, 3)

        var environment = ProcessInfo.processInfo.environment
        environment["LC_ALL"] = "C"
        let argv = ([tool] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, tool, &actions, nil, argv, envp)
        guard spawned == 0 else {
            throw Failure(description: "could not \(what): cannot run \(tool): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let exited = (status & 0x7F) == 0
        let code = exited ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        guard code == 0 else {
            throw Failure(description: "could not \(what) (\(URL(fileURLWithPath: tool).lastPathComponent) exited \(code)): \(text.trimmingCharacters(in: .whitespacesAndNewlines))")
        }
        return text
    }

    /// PostgreSQL's server binaries: `$PG_BINDIR`, else the newest `/usr/lib/postgresql/*/bin`, else `pg_config --bindir`.
    static func findBinDirectory() throws -> String {
        let fm = FileManager.default
        if let dir = ProcessInfo.processInfo.environment["PG_BINDIR"], fm.isExecutableFile(atPath: dir + "/initdb") {
            return dir
        }
        let root = "/usr/lib/postgresql"
        let versions = ((try? fm.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap(Int.init)
            .sorted(by: >)
        for version in versions where fm.isExecutableFile(atPath: "\(root)/\(version)/bin/initdb") {
            return "\(root)/\(version)/bin"
        }
        if let dir = try? run("/usr/bin/env", ["pg_config", "--bindir"], what: "find PostgreSQL").trimmingCharacters(in: .whitespacesAndNewlines),
           fm.isExecutableFile(atPath: dir + "/initdb") {
            return dir
        }
        throw Failure(description: "PostgreSQL server binaries not found (looked in $PG_BINDIR, /usr/lib/postgresql/*/bin, pg_config --bindir); install them with: apt-get install -y postgresql")
    }
}
