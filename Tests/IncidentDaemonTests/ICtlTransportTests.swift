import Foundation
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

@Suite("Transport: ictl refuses plain http to another machine before it connects or queues")
struct ICtlTransportTests {
    static let remote = "http://office.invalid:8080"
    static let id = "8f0c62a5-6b6c-4bd3-9a4e-2f6a6c1f1f1a"
    static let report = [
        "report", "--category", "unrest", "--subcategory", "peaceful_protest", "--occurred-at", "2026-11-20",
        "--municipality", "Prizren", "--source-type", "media", "--summary", "Peaceful protest.",
    ]

    /// Every command that talks to the daemon.
    static let commands: [[String]] = [
        report, ["import", "-"], ["amend", id, "--expected-version", "1", "--set", "killed=1", "--reason", "police report"],
        ["verify", id, "--expected-version", "1", "--note", "confirmed"], ["reject", id, "--expected-version", "1", "--note", "hearsay"],
        ["retract", id, "--expected-version", "1", "--reason", "duplicate"], ["show", id], ["list"], ["log"], ["tail"], ["tail", "-f"],
        ["summary"], ["digest"], ["regions"], ["taxonomy"], ["outbox", "sync"], ["admin", "token", "create", "--name", "n", "--role", "reporter"],
        ["admin", "token", "list"], ["admin", "token", "revoke", "n"], ["admin", "erase", id, "--reason", "asked"], ["admin", "rebuild", "incidents"],
        ["login", "--token", "il_x"],
    ]

    /// A home of its own: no saved config, an empty outbox.
    struct Home {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ictl-transport-\(UUID().uuidString)").path
        var config: String { path + "/ictl.json" }
        var outbox: String { path + "/outbox" }
        var environment: [String: String] {
            ["HOME": path, "ICTL_CONFIG": config, "ICTL_OUTBOX": outbox, "ICTL_SERVER": "", "ICTL_TOKEN": "il_x", "ICTL_CA_FILE": "", "ICTL_INSECURE": ""]
        }
        var queued: Int { ((try? FileManager.default.contentsOfDirectory(atPath: outbox)) ?? []).filter { $0.hasSuffix(".json") }.count }

        func save(_ json: String) throws {
            try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            try Data(json.utf8).write(to: URL(fileURLWithPath: config))
        }

        func remove() { try? FileManager.default.removeItem(atPath: path) }

        func ictl(_ arguments: [String], _ environment: [String: String] = [:]) async throws -> Run {
            try await run(Binaries.ictl, arguments, environment: self.environment.merging(environment) { _, new in new }, timeout: .seconds(60))
        }
    }

    @Test("exit 64 with one line naming --insecure, from --server, ICTL_SERVER or the saved config; nothing queued, nothing saved", arguments: commands)
    func refused(_ command: [String]) async throws {
        let home = Home()
        defer { home.remove() }
        var ways: [(String, [String], [String: String])] = [
            ("--server", command + ["--server", Self.remote], [:]), ("ICTL_SERVER", command, ["ICTL_SERVER": Self.remote]),
        ]
        if command[0] != "login" {
            // Login takes its server from --server or ICTL_SERVER; every other command also from the config.
            try home.save(#"{"server": "\#(Self.remote)", "token": "il_x"}"#)
            ways.append(("the saved config", command, [:]))
        }
        for (way, arguments, environment) in ways {
            let result = try await home.ictl(arguments, environment)
            #expect(result.status == 64, "\(way): \(result.status) \(result.stderr)")
            #expect(outputLines(result.stderr).count == 1, "\(way): one line: \(result.stderr)")
            #expect(result.stderr.contains("plain http") && result.stderr.contains("office.invalid") && result.stderr.contains("--insecure"), "\(way): \(result.stderr)")
            #expect(result.stdout.isEmpty, "\(way): nothing on stdout: \(result.stdout)")
            #expect(home.queued == 0, "\(way): nothing in the outbox")
        }
        if command[0] == "login" { #expect(!FileManager.default.fileExists(atPath: home.config), "nothing saved") }
    }

    @Test("--insecure or ICTL_INSECURE=1 lifts the refusal: unreachable (69), and a write goes on to the outbox's rules")
    func insecureGoesOn() async throws {
        let home = Home()
        defer { home.remove() }
        let listed = try await home.ictl(["list", "--server", Self.remote, "--insecure"])
        #expect(listed.status == 69, "\(listed.status) \(listed.stderr)")
        #expect(listed.stderr.contains("warning: plain http to office.invalid"), "\(listed.stderr)")
        let fromEnvironment = try await home.ictl(["list"], ["ICTL_SERVER": Self.remote, "ICTL_INSECURE": "1"])
        #expect(fromEnvironment.status == 69, "\(fromEnvironment.status) \(fromEnvironment.stderr)")
        #expect(try await home.ictl(["list"], ["ICTL_SERVER": Self.remote, "ICTL_INSECURE": "yes"]).status == 64, "only ICTL_INSECURE=1 lifts it")

        // Past the refusal, the write meets the outbox's own rule: never logged in, no server key
        // to seal it to, so it is not kept (69), as any write that could not be sealed.
        let reported = try await home.ictl(Self.report + ["--server", Self.remote, "--insecure"])
        #expect(reported.status == 69 && reported.stderr.contains("log in"), "\(reported.status) \(reported.stderr)")
        #expect(reported.stderr.contains("warning: plain http to office.invalid"), "\(reported.stderr)")
        #expect(home.queued == 0)

        let login = try await home.ictl(["login", "--server", Self.remote, "--insecure"])
        #expect(login.status == 69, "\(login.status) \(login.stderr)")
        #expect(!FileManager.default.fileExists(atPath: home.config), "an unchecked login saves nothing")

        // Accepted at login: that server, and only that one, goes on without --insecure.
        try home.save(#"{"server": "\#(Self.remote)", "token": "il_x", "insecure": true}"#)
        #expect(try await home.ictl(["list"]).status == 69)
        #expect(try await home.ictl(["list", "--server", "http://other.invalid:8080"]).status == 64)
    }

    @Test(
        "not refused: https to another machine, plain http to this one",
        arguments: [
            "https://office.invalid:8443", "HTTPS://office.invalid", "http://127.0.0.1:%d", "http://127.0.0.2:%d", "http://localhost:%d", "http://[::1]:%d",
            "http://LOCALHOST:%d/",
        ])
    func notRefused(_ server: String) async throws {
        let home = Home()
        defer { home.remove() }
        let result = try await home.ictl(["list", "--server", String(format: server, TestPorts.free())])
        #expect(result.status == 69, "goes on and finds no daemon: \(result.status) \(result.stderr)")
        #expect(!result.stderr.contains("plain http"), "\(result.stderr)")
    }

    @Test(
        "a server that is not an http(s) URL is a usage error, not a queued write", arguments: ["office.invalid:8080", "ftp://office.invalid", "http://", "http:///v1"])
    func notHTTP(_ server: String) async throws {
        let home = Home()
        defer { home.remove() }
        let result = try await home.ictl(Self.report + ["--server", server])
        #expect(result.status == 64, "\(result.status) \(result.stderr)")
        #expect(outputLines(result.stderr).count == 1, "\(result.stderr)")
        #expect(home.queued == 0)
    }
}
