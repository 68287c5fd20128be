import Foundation
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

@Suite("Transport: no plain HTTP beyond loopback unless asked for, and the database link on /metrics")
struct ServeTransportTests {
    /// Nothing in these runs reaches a database: the refusal comes first.
    static let noDatabase = ["--database-url", "host=/nonexistent", "--master-key-file", TestKeys.file]

    @Test(
        "incidentd serve refuses plain HTTP on a --host other machines reach: exit 64, one line naming --tls-cert and --insecure-http",
        arguments: [
            ["serve", "--host", "0.0.0.0"], ["--host", "0.0.0.0"], ["serve", "--host", "::"], ["serve", "--host", "10.1.2.3"],
            ["serve", "--host", "office.invalid"], ["serve", "--host", "127.1"],
        ])
    func serveRefusesPlainHTTP(_ arguments: [String]) async throws {
        let result = try await run(Binaries.incidentd, arguments + Self.noDatabase, environment: [:], timeout: .seconds(60))
        #expect(result.status == 64, "\(result.status) \(result.stderr)")
        #expect(outputLines(result.stderr).count == 1, "one line: \(result.stderr)")
        #expect(result.stderr.contains("--tls-cert") && result.stderr.contains("--insecure-http"), "\(result.stderr)")
    }

    @Test("with --insecure-http (or TLS) the refusal is gone; --insecure-http logs its warning before anything else")
    func insecureHTTPPassesTheCheck() async throws {
        // A listener already on 127.0.0.1 at the port makes the wildcard bind fail: the run stops
        // at the listen check (exit 69), past the refusal, and never listens beyond loopback.
        let busy = TestPorts.held()
        defer { busy.release() }
        let onBusyPort = ["--port", "\(busy.port)"] + Self.noDatabase
        let insecure = try await run(Binaries.incidentd, ["serve", "--host", "0.0.0.0", "--insecure-http"] + onBusyPort, environment: [:], timeout: .seconds(60))
        #expect(insecure.status == 69, "\(insecure.status) \(insecure.stderr)")
        #expect(insecure.stderr.contains("serving plain HTTP beyond loopback (--insecure-http)"), "\(insecure.stderr)")

        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        let tls = try await run(
            Binaries.incidentd, ["serve", "--host", "0.0.0.0", "--tls-cert", certificates.certificate, "--tls-key", certificates.key] + onBusyPort,
            environment: [:], timeout: .seconds(60))
        #expect(tls.status == 69, "\(tls.status) \(tls.stderr)")
        #expect(!tls.stderr.contains("plain HTTP"), "\(tls.stderr)")
    }

    @Test("incidentd serve on an address it cannot listen on stops at once, before the database: exit 69, one line saying why")
    func serveRefusesAnAddressItCannotListenOn() async throws {
        let busy = TestPorts.held()
        defer { busy.release() }
        let inUse = try await run(Binaries.incidentd, ["serve", "--port", "\(busy.port)"] + Self.noDatabase, environment: [:], timeout: .seconds(60))
        #expect(inUse.status == 69, "\(inUse.status) \(inUse.stderr)")
        #expect(
            outputLines(inUse.stderr) == [
                "incidentd: cannot listen on 127.0.0.1:\(busy.port): the address is in use (another incidentd?): stop that process, or give another --port"
            ], "\(inUse.stderr)")

        // 192.0.2.0/24 is documentation-only (RFC 5737): no machine has it, nothing is sent.
        let notHere = try await run(
            Binaries.incidentd, ["serve", "--host", "192.0.2.7", "--insecure-http", "--port", "\(TestPorts.free())"] + Self.noDatabase, environment: [:],
            timeout: .seconds(60))
        #expect(notHere.status == 69, "\(notHere.status) \(notHere.stderr)")
        #expect(notHere.stderr.contains("192.0.2.7 is not an address of this machine"), "\(notHere.stderr)")
    }

    @Test("incidentd serve --host 127.1 --insecure-http starts with the warning; ictl login --insecure is remembered for that server only; SIGTERM exits 0")
    func insecureHTTPServes() async throws {
        // 127.1 is 127.0.0.1 to the resolver but not loopback by the rule's strict spelling: a
        // plain-HTTP "remote" that still listens on loopback only.
        try await TestDatabase.with { db in
            let reporter = try await AccessTokens(pool: db.pool).create(name: "field", role: .reporter)
            let port = TestPorts.free()
            let home = FileManager.default.temporaryDirectory.appendingPathComponent("ictl-insecure-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: home) }
            let daemon = try Daemon(conninfo: db.conninfo, port: port, arguments: ["--host", "127.1", "--insecure-http"])
            defer { if daemon.process.isRunning { daemon.stop() } }
            try await daemon.ready()
            let started = daemon.logged
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

            let daemon = try Daemon(conninfo: db.conninfo, port: TestPorts.free())
            defer { daemon.stop() }
            try await daemon.ready()
            #expect(await daemon.metric("incident_database_tls") == 1)
            let text = daemon.logged
            #expect(!text.contains("not encrypted") && !text.contains("plain HTTP"), "\(text)")
        }
    }
}
