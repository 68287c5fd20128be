import Foundation
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

@Suite("TLS: incidentd serves HTTPS, ictl verifies it")
struct TLSTests {
    @Test("the reporting path over TLS with a field office's CA; an untrusted certificate or plain HTTP gets nothing through")
    func reportingOverTLS() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        try await TestDatabase.with { db in
            let reporter = try await AccessTokens(pool: db.pool).create(name: "field", role: .reporter)
            let port = TestPorts.free()
            let daemon = try Daemon(conninfo: db.conninfo, port: port, arguments: ["--tls-cert", certificates.certificate, "--tls-key", certificates.key])
            defer { daemon.stop() }
            let ready = try await Self.becomesReadyOverHTTPS(port: port, trusting: certificates.authority)
            #expect(ready, "incidentd answers over https, with a certificate the CA signed")

            let home = FileManager.default.temporaryDirectory.appendingPathComponent("ictl-tls-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: home) }
            let trusted = [
                "ICTL_SERVER": "https://localhost:\(port)", "ICTL_TOKEN": reporter, "ICTL_CA_FILE": certificates.authority,
                "HOME": home, "ICTL_OUTBOX": home + "/outbox", "ICTL_CONFIG": home + "/ictl.json",
            ]
            func ictl(_ arguments: [String], _ environment: [String: String] = trusted) async throws -> Run {
                try await run(Binaries.ictl, arguments, environment: environment)
            }
            let flags = Self.reportFlags

            let reported = try await ictl(flags)
            #expect(reported.status == 0, "\(reported.stderr)")
            let id = reported.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(try await ictl(["show", id, "--format", "json"]).stdout.contains(id))

            // Logged in once (so it holds the server's outbox key) but trusting only the system's
            // CAs, which do not know the field office's: the report is kept, sealed, not sent.
            #expect(try await ictl(["login"]).status == 0)
            let refused = try await ictl(flags, try Self.trustingSystemCAsOnly(trusted, home: home))
            #expect(refused.status == 75, "kept in the outbox: \(refused.stderr)")
            #expect(refused.stderr.contains("TLS handshake failed"), "says why: \(refused.stderr)")
            let queuedID = refused.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            // Another CA is no better; the right one delivers what waited.
            #expect(try await ictl(["outbox", "sync"], trusted.merging(["ICTL_CA_FILE": certificates.stranger]) { _, new in new }).status == 69)
            #expect(try await ictl(["outbox", "sync"]).status == 0)

            // ictl login saves the CA file with the server and the token.
            #expect(
                try await ictl(
                    ["login", "--server", "https://localhost:\(port)", "--token", reporter, "--ca-file", certificates.authority],
                    ["HOME": home, "ICTL_CONFIG": home + "/ictl.json"]
                ).status == 0)
            #expect(
                try await ictl(["show", queuedID, "--format", "json"], ["HOME": home, "ICTL_CONFIG": home + "/ictl.json", "ICTL_OUTBOX": home + "/outbox"]).status == 0)

            // A certificate from the trusted CA, but for another name than the one dialled: refused.
            let misnamed = try await ictl(["show", id], trusted.merging(["ICTL_SERVER": "https://127.0.0.1:\(port)"]) { _, new in new })
            #expect(misnamed.status == 69 && misnamed.stderr.contains("TLS handshake failed"), "\(misnamed.status) \(misnamed.stderr)")

            // Plain HTTP on the TLS port gets no answer.
            #expect(try await ictl(["show", id], trusted.merging(["ICTL_SERVER": "http://127.0.0.1:\(port)"]) { _, new in new }).status == 69)

            #expect(try await Self.storedEvents(db, id, queuedID) == 2, "each report stored once")
        }
    }

    private static let reportFlags = [
        "report", "--category", "return_obstacle", "--subcategory", "property_occupation", "--occurred-at", "2026-11-25",
        "--municipality", "Klinë", "--source-type", "victim", "--summary", "Returnee house occupied.",
    ]

    /// `trusted` with a saved configuration that keeps the login's outbox key but no CA file, so
    /// ictl trusts only the system's CAs, which do not know the field office's.
    private static func trustingSystemCAsOnly(_ trusted: [String: String], home: String) throws -> [String: String] {
        var config = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: home + "/ictl.json"))) as? [String: Any])
        #expect(config["outbox_key"] != nil)
        config["ca_file"] = nil
        try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: home + "/system-cas.json"))
        var untrusted = trusted
        untrusted["ICTL_CA_FILE"] = nil
        untrusted["ICTL_CONFIG"] = home + "/system-cas.json"
        return untrusted
    }

    /// How many events the log holds of these incidents.
    private static func storedEvents(_ db: TestDatabase, _ first: String, _ second: String) async throws -> Int {
        try await db.pool.withConnection {
            try $0.query("SELECT count(*) FROM events WHERE stream IN ($1, $2)", ["incident-" + first, "incident-" + second]).first!.decode(0)
        }
    }

    /// Whether /readyz answers over https, verified against `authority`, within 10 s.
    private static func becomesReadyOverHTTPS(port: Int, trusting authority: String) async throws -> Bool {
        var ready = false
        for _ in 0..<200 where !ready {
            ready = try await run("/usr/bin/curl", ["-sf", "--cacert", authority, "https://localhost:\(port)/readyz"], environment: [:]).status == 0
            if !ready { try await Task.sleep(for: .milliseconds(50)) }
        }
        return ready
    }

    @Test("incidentd refuses to start on half a TLS configuration or an unreadable certificate")
    func badConfiguration() async throws {
        let certificates = try await TestCertificates.make()
        defer { certificates.remove() }
        let half = try await run(Binaries.incidentd, ["serve", "--tls-cert", certificates.certificate, "--database-url", "host=/nonexistent"], environment: [:])
        #expect(half.status == 64 && half.stderr.contains("--tls-cert and --tls-key go together"), "\(half.status) \(half.stderr)")
        let missing = try await run(
            Binaries.incidentd, ["serve", "--tls-cert", certificates.directory + "/none.pem", "--tls-key", certificates.key, "--database-url", "host=/nonexistent"],
            environment: [:])
        #expect(missing.status != 0 && missing.stderr.contains("cannot read the TLS certificate"), "\(missing.status) \(missing.stderr)")
    }
}
