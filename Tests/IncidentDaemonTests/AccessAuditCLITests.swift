import Foundation
import HTTPTypes
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

@testable import IncidentDaemon

@Suite("Access audit through ictl (subprocesses)")
struct AccessAuditCLITests {
    @Test("ictl show --include-personal --reason reads personal data (audited); ictl admin audit prints it as JSON, table and spreadsheet-safe CSV")
    func showAndAudit() async throws {
        try await TestDatabase.with { db in
            let admin = try await AccessTokens(pool: db.pool).create(name: "office-admin", role: .admin)
            let port = TestPorts.free()
            let home = FileManager.default.temporaryDirectory.appendingPathComponent("ictl-audit-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: home) }
            let env = [
                "ICTL_SERVER": "http://127.0.0.1:\(port)", "ICTL_TOKEN": admin, "HOME": home, "XDG_DATA_HOME": home + "/data", "XDG_CONFIG_HOME": home + "/config",
            ]
            func ictl(_ arguments: String...) async throws -> Run { try await run(Binaries.ictl, arguments, environment: env) }
            let daemon = try Daemon(conninfo: db.conninfo, port: port)
            defer { daemon.stop() }
            try await daemon.ready()

            let file = home + "/report.json"
            try Data(
                """
                {"category": "return_obstacle", "subcategory": "property_occupation", "occurred_at": "2026-11-27", "municipality": "Klinë",
                 "summary": "Returnee house occupied.", "source_type": "victim", "personal": {"victims": [{"name": "Valdete Uniquename-CLI"}]}}
                """.utf8
            ).write(to: URL(fileURLWithPath: file))
            let reported = try await ictl("report", "--file", file)
            #expect(reported.status == 0, "\(reported.stderr)")
            let id = reported.stdout.trimmingCharacters(in: .whitespacesAndNewlines)

            let plain = try await ictl("show", id, "--format", "json")
            #expect(plain.status == 0 && !plain.stdout.contains("Uniquename-CLI"), "no personal data unless asked for")
            #expect(try await ictl("show", id, "--include-personal").status == 64, "--include-personal needs --reason")
            #expect(try await ictl("show", id, "--include-personal", "--reason", "why").status == 64, "a reason of 5 to 500 characters")
            // A reason that a spreadsheet would run as a formula.
            let reason = "=HYPERLINK(\"http://example.org\",\"follow-up\")"
            let shown = try await ictl("show", id, "--format", "json", "--include-personal", "--reason", reason)
            #expect(shown.status == 0 && shown.stdout.contains("Uniquename-CLI"), "\(shown.stderr)")

            let json = try await ictl("admin", "audit", "--action", "personal_data.read", "--format", "json")
            #expect(json.status == 0, "\(json.stderr)")
            let items = try JSONValue.parse(Data(json.stdout.utf8)).objectValue?["items"]?.arrayValue ?? []
            #expect(items.count == 1 && items.first?.objectValue?["reason"]?.stringValue == reason && items.first?.objectValue?["incident_id"]?.stringValue == id)
            #expect(!json.stdout.contains("Uniquename-CLI"))

            let csv = try await ictl("admin", "audit", "--format", "csv", "--incident", id)
            #expect(csv.status == 0, "\(csv.stderr)")
            let lines = csv.stdout.split(separator: "\n")
            #expect(lines.first == "AT,PRINCIPAL,ROLE,ACTION,INCIDENT_ID,TARGET,REASON,REQUEST_ID,CLIENT_ADDRESS")
            #expect(lines.count == 2)
            #expect(csv.stdout.contains("\"'=HYPERLINK(\"\"http://example.org\"\",\"\"follow-up\"\")\""), "the formula is defused: \(csv.stdout)")

            try await Self.localTokenActionsAreAudited(db, env: env)

            let table = try await ictl("admin", "audit", "--format", "table", "--principal", "office-admin")
            #expect(table.status == 0 && table.stdout.contains("personal_data.read"))
            #expect(try await ictl("admin", "audit", "--action", "token.steal").status != 0)
        }
    }

    /// Tokens made and revoked on the server, with database access: recorded as the local user.
    private static func localTokenActionsAreAudited(_ db: TestDatabase, env: [String: String]) async throws {
        let made = try await run(
            Binaries.incidentd, ["token", "create", "--name", "cli-made", "--role", "reporter", "--database-url", db.conninfo],
            environment: [:], timeout: .seconds(60))
        #expect(made.status == 0 && made.stdout.hasPrefix("il_"), "\(made.stderr)")
        let revoked = try await run(Binaries.incidentd, ["token", "revoke", "cli-made", "--database-url", db.conninfo], environment: [:], timeout: .seconds(60))
        #expect(revoked.status == 0, "\(revoked.stderr)")
        let local = try await run(Binaries.ictl, ["admin", "audit", "--principal", "local:" + NSUserName(), "--format", "json"], environment: env)
        let localItems = try JSONValue.parse(Data(local.stdout.utf8)).objectValue?["items"]?.arrayValue ?? []
        #expect(localItems.compactMap { $0.objectValue?["action"]?.stringValue } == ["token.create", "token.create", "token.revoke"], "\(local.stdout)")
        #expect(localItems.compactMap { $0.objectValue?["target"]?.stringValue } == ["office-admin", "cli-made", "cli-made"])
        #expect(localItems.allSatisfy { $0.objectValue?["role"]?.stringValue == "operator" })
    }
}
