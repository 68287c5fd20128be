import Foundation
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

/// A port on 127.0.0.1 that nothing listens on (the kernel's choice, given back at once).
func freeLoopbackPort() throws -> Int {
    let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard descriptor >= 0 else { throw POSIXError(.EMFILE) }
    defer { close(descriptor) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let bound = withUnsafeMutablePointer(to: &address) { pointer in
        pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
    }
    guard bound else { throw POSIXError(.EADDRINUSE) }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// The lines written to stderr.
private func lines(_ text: String) -> [Substring] { text.split(separator: "\n") }

@Suite("Transport: no plain HTTP beyond loopback unless asked for, and the database link on /metrics")
struct ServeTransportTests {
    /// Nothing in these runs reaches a database: the refusal comes first.
    static let noDatabase = ["--database-url", "host=/nonexistent", "--master-key-file", TestKeys.file]

    @Test("incidentd serve refuses plain HTTP on a --host other machines reach: exit 64, one line naming --tls-cert and --insecure-http",
          arguments: [["serve", "--host", "0.0.0.0"], ["--host", "0.0.0.0"], ["serve", "--host", "::"], ["serve", "--host", "10.1.2.3"],
                      ["serve", "--host", "office.invalid"], ["serve", "--host", "127.1"]])
    func serveRefusesPlainHTTP(_ arguments: [String]) async throws {
        let result = try await run(Binaries.incidentd, arguments + Self.noDatabase, environment: [:], timeout: .seconds(60))
        #expect(result.status == 64, "\(result.status) \(result.stderr)")
        #expect(lines(result.stderr).count == 1, "one line: \(result.stderr)")
        #expect(result.stderr.contains("--tls-cert") && result.stderr.contains("--insecure-http"), "\(result.stderr)")
    }

    @Test("with --insecure-http (or TLS) the refusal is gone; --insecure-http logs its warning before anything else")
    func insecureHTTPPassesTheCheck() async throws {
        // The missing database stops it after the check, before it binds any address.
        let insecure = try await run(Binaries.incidentd, ["serve", "--host", "0.0.0.0", "--insecure-http"] + Self.noDatabase, environment: [:], timeout: .seconds(60))
        #expect(insecure.status != 64 && insecure.status != -9, "\(insecure.status) \(insecure.stderr)")
        #expect(insecure.stderr.contains("serving plain HTTP beyond loopback (--insecure-http)"), "\(insecure.stderr)")

        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        let tls = try await run(Binaries.incidentd, ["serve", "--host", "0.0.0.0", "--tls-cert", certificates.certificate, "--tls-key", certificates.key] + Self.noDatabase,
                                environment: [:], timeout: .seconds(60))
        #expect(tls.status != 64 && tls.status != -9, "\(tls.status) \(tls.stderr)")
        #expect(!tls.stderr.contains("plain HTTP"), "\(tls.stderr)")
    }

    @Test("incidentd serve --host 127.1 --insecure-http starts with the warning; ictl login --insecure is remembered for that server only; SIGTERM exits 0")
    func insecureHTTPServes() async throws {
        // 127.1 is 127.0.0.1 to the resolver but not loopback by the rule's strict spelling: a
        // plain-HTTP "remote" that still listens on loopback only.
        try await TestDatabase.with { db in
            let reporter = try await AccessTokens(pool: db.pool).create(name: "field", role: .reporter)
            let port = try freeLoopbackPort()
            let home = FileManager.default.temporaryDirectory.appendingPathComponent("ictl-insecure-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: home) }
            let log = home + "/incidentd.log"
            let daemon = try Daemon(conninfo: db.conninfo, port: port, arguments: ["--host", "127.1", "--insecure-http"], log: log)
            defer { if daemon.process.isRunning { daemon.stop() } }
            try await daemon.ready()
            let started = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            #expect(started.contains("serving plain HTTP beyond loopback (--insecure-http)"), "\(started)")

            let server = "http://127.1:\(port)"
            let env = ["HOME": home, "ICTL_CONFIG": home + "/ictl.json", "ICTL_OUTBOX": home + "/outbox", "ICTL_SERVER": "", "ICTL_TOKEN": "", "ICTL_INSECURE": ""]
            func ictl(_ arguments: String..., environment: [String: String] = [:]) async throws -> Run {
                try await run(Binaries.ictl, arguments, environment: env.merging(environment) { _, new in new }, timeout: .seconds(60))
            }
            let refused = try await ictl("login", "--server", server, "--token", reporter)
            #expect(refused.status == 64 && refused.stderr.contains("--insecure"), "\(refused.status) \(refused.stderr)")
            #expect(!FileManager.default.fileExists(atPath: home + "/ictl.json"), "nothing saved")

            let login = try await ictl("login", "--server", server, "--token", reporter, "--insecure")
            #expect(login.status == 0, "\(login.stderr)")
            let saved = (try? String(contentsOfFile: home + "/ictl.json", encoding: .utf8)) ?? ""
            #expect((try? JSONValue.parse(Data(saved.utf8)))?.objectValue?["insecure"] == true, "\(saved)")
            let listed = try await ictl("taxonomy", "--format", "json")
            #expect(listed.status == 0, "the saved server, accepted at login: \(listed.stderr)")
            #expect(listed.stderr.contains("warning: plain http"), "says so every time: \(listed.stderr)")
            // The acceptance is the saved server's: another plain-http server is still refused.
            let other = try await ictl("taxonomy", environment: ["ICTL_SERVER": "http://office.invalid:\(port)"])
            #expect(other.status == 64, "\(other.status) \(other.stderr)")

            daemon.stop()
            #expect(daemon.process.terminationStatus == 0, "SIGTERM: a clean stop")
        }
    }

    @Test("on a Unix socket the database link counts as protected: incident_database_tls 1, no warning")
    func databaseGaugeOnUnixSocket() async throws {
        try await TestDatabase.with { db in
            let transport = try await db.pool.withConnection { $0.transport }
            #expect(transport?.isUnixSocket == true && transport?.sslInUse == false, "\(String(describing: transport))")

            let log = FileManager.default.temporaryDirectory.appendingPathComponent("incidentd-\(UUID().uuidString).log").path
            defer { try? FileManager.default.removeItem(atPath: log) }
            let daemon = try Daemon(conninfo: db.conninfo, port: try freeLoopbackPort(), log: log)
            defer { daemon.stop() }
            try await daemon.ready()
            #expect(await daemon.metric("incident_database_tls") == 1)
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            #expect(!text.contains("not encrypted") && !text.contains("plain HTTP"), "\(text)")
        }
    }
}

@Suite("Transport: ictl refuses plain http to another machine before it connects or queues")
struct ICtlTransportTests {
    static let remote = "http://office.invalid:8080"
    static let id = "8f0c62a5-6b6c-4bd3-9a4e-2f6a6c1f1f1a"
    static let report = ["report", "--category", "unrest", "--subcategory", "peaceful_protest", "--occurred-at", "2026-11-20",
                         "--municipality", "Prizren", "--source-type", "media", "--summary", "Peaceful protest."]

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
        var ways: [(String, [String], [String: String])] = [("--server", command + ["--server", Self.remote], [:]), ("ICTL_SERVER", command, ["ICTL_SERVER": Self.remote])]
        if command[0] != "login" {
            // Login takes its server from --server or ICTL_SERVER; every other command also from the config.
            try home.save(#"{"server": "\#(Self.remote)", "token": "il_x"}"#)
            ways.append(("the saved config", command, [:]))
        }
        for (way, arguments, environment) in ways {
            let result = try await home.ictl(arguments, environment)
            #expect(result.status == 64, "\(way): \(result.status) \(result.stderr)")
            #expect(lines(result.stderr).count == 1, "\(way): one line: \(result.stderr)")
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

    @Test("not refused: https to another machine, plain http to this one", arguments: [
        "https://office.invalid:8443", "HTTPS://office.invalid", "http://127.0.0.1:%d", "http://127.0.0.2:%d", "http://localhost:%d", "http://[::1]:%d", "http://LOCALHOST:%d/",
    ])
    func notRefused(_ server: String) async throws {
        let home = Home()
        defer { home.remove() }
        let result = try await home.ictl(["list", "--server", String(format: server, try freeLoopbackPort())])
        #expect(result.status == 69, "goes on and finds no daemon: \(result.status) \(result.stderr)")
        #expect(!result.stderr.contains("plain http"), "\(result.stderr)")
    }

    @Test("a server that is not an http(s) URL is a usage error, not a queued write", arguments: ["office.invalid:8080", "ftp://office.invalid", "http://", "http:///v1"])
    func notHTTP(_ server: String) async throws {
        let home = Home()
        defer { home.remove() }
        let result = try await home.ictl(Self.report + ["--server", server])
        #expect(result.status == 64, "\(result.status) \(result.stderr)")
        #expect(lines(result.stderr).count == 1, "\(result.stderr)")
        #expect(home.queued == 0)
    }
}
