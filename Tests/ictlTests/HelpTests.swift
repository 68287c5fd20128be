import ArgumentParser
import Foundation
import Testing

@testable import ictl

/// Every command's help fits 80 columns and shows an example; the shell completion scripts load.
@Suite struct HelpTests {
    static func commands(_ command: any ParsableCommand.Type = ICtl.self) -> [any ParsableCommand.Type] {
        [command] + command.configuration.subcommands.flatMap { commands($0) }
    }

    @Test func everyHelpFits80ColumnsAndHasAnExample() {
        let all = Self.commands()
        #expect(all.count > 25)
        for command in all {
            let help = ICtl.helpMessage(for: command, columns: 80)
            let name = command.configuration.commandName ?? "\(command)"
            #expect(help.split(separator: "\n").allSatisfy { $0.count <= 80 }, "\(name):\n\(help)")
            #expect(help.contains("Example"), "\(name) has no example")
        }
        let report = ICtl.helpMessage(for: Report.self, columns: 80)
        #expect(report.contains("ictl report --category") && report.contains("ictl report --file"))
    }

    @Test("the bash and zsh completion scripts load without error", arguments: [CompletionShell.bash, .zsh])
    func completionScriptsLoad(shell: CompletionShell) throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("ictl-completion-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: file) }
        try Data(ICtl.completionScript(for: shell).utf8).write(to: file)
        let load =
            shell == .zsh ? "autoload -U compinit && compinit -u -D && source \(file.path) && whence -w _ictl" : "source \(file.path) && complete -p ictl"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [shell.rawValue, "-c", load]
        process.environment = ["PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "HOME": FileManager.default.temporaryDirectory.path]
        let errors = Pipe(), output = Pipe()
        process.standardError = errors
        process.standardOutput = output
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let said = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let printed = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(
            process.terminationStatus == 0 && said.isEmpty,
            "\(shell.rawValue) could not load it (is \(shell.rawValue) installed? scripts/lib/deps.sh installs it): \(said)")
        #expect(printed.contains("ictl"))
        #expect(ICtl.completionScript(for: .fish).contains("ictl"))
    }
}
