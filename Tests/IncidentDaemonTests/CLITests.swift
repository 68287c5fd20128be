import Foundation
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@Suite("ictl against a live incidentd (subprocesses)")
struct CLITests {
    @Test("login, report, show, stale amend (76), amend, verify, list; offline report (75) kept sealed, outbox sync, replay: one incident")
    func endToEnd() async throws {
        try await TestDatabase.with { db in
            let admin = try await AccessTokens(pool: db.pool).create(name: "field-officer", role: .admin)
            let officer = FieldOfficer(port: TestPorts.free(), token: admin)
            defer { try? FileManager.default.removeItem(atPath: officer.home) }

            var daemon = try Daemon(conninfo: db.conninfo, port: officer.port)
            try await daemon.ready()
            try await officer.worksOnline()

            // Offline: the daemon is down; the report waits in the outbox.
            daemon.stop()
            let (file, incidentID) = try await officer.queuesOffline()

            daemon = try Daemon(conninfo: db.conninfo, port: officer.port)
            try await daemon.ready()
            try await officer.syncsAndReplays(file: file, incidentID: incidentID)
            daemon.stop()

            let stored: Int = try await db.pool.withConnection {
                try $0.query("SELECT count(*) FROM events WHERE stream = $1", ["incident-" + incidentID]).first!.decode(0)
            }
            #expect(stored == 1, "exactly one incident, reported once")
        }
    }
}

/// A field officer's ictl, with a home of its own, against the daemon on `port`; a method per phase.
private struct FieldOfficer {
    let port: Int
    let home = FileManager.default.temporaryDirectory.appendingPathComponent("ictl-home-\(UUID().uuidString)").path
    let env: [String: String]

    init(port: Int, token: String) {
        self.port = port
        env = ["ICTL_SERVER": "http://127.0.0.1:\(port)", "ICTL_TOKEN": token, "HOME": home, "XDG_DATA_HOME": home + "/data", "XDG_CONFIG_HOME": home + "/config"]
    }

    func ictl(_ arguments: String...) async throws -> Run { try await run(Binaries.ictl, arguments, environment: env) }

    /// Login, report, show, a stale and a current amendment, verify, list; unknown incident and wrong token.
    func worksOnline() async throws {
        // Online once: ictl stores the server's outbox key, to seal what it must queue later.
        let login = try await ictl("login")
        #expect(login.status == 0, "\(login.stderr)")

        let reported = try await ictl(
            "report", "--category", "ethnic_violence", "--subcategory", "assault", "--occurred-at", "2026-11-28",
            "--municipality", "Zubin Potok", "--source-type", "witness", "--summary", "Two men assaulted a returnee.")
        #expect(reported.status == 0, "\(reported.stderr)")
        let id = reported.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(UUID(uuidString: id) != nil, "stdout is the incident id alone: \(reported.stdout)")

        let shown = try await ictl("show", id, "--format", "json")
        #expect(shown.status == 0 && shown.stdout.contains("XK-MIT-07"))

        let stale = try await ictl("amend", id, "--expected-version", "3", "--set", "killed=1", "--reason", "late report")
        #expect(stale.status == 76, "\(stale.stderr)")
        let amended = try await ictl("amend", id, "--expected-version", "1", "--set", "municipality=pec", "--reason", "wrong municipality")
        #expect(amended.status == 0 && amended.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == id)
        let verified = try await ictl("verify", id, "--expected-version", "2", "--note", "confirmed by police")
        #expect(verified.status == 0, "\(verified.stderr)")

        var listed = Run(status: 1, stdout: "", stderr: "")
        for _ in 0..<50 {
            listed = try await ictl("list", "--district", "XK-PEJ", "--format", "json")
            if listed.stdout.contains(id) && listed.stdout.contains("verified") { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(listed.status == 0 && listed.stdout.contains(id) && listed.stdout.contains("verified"))
        #expect(try await ictl("show", UUID().uuidString).status == 66)
        #expect(try await run(Binaries.ictl, ["list"], environment: env.merging(["ICTL_TOKEN": "il_wrong"]) { _, new in new }).status == 77)
    }

    /// With the daemon down, a report from a file is queued (75), sealed; returns the file and its incident id.
    func queuesOffline() async throws -> (file: String, incidentID: String) {
        let file = home + "/report.json"
        let incidentID = UUID().uuidString.lowercased()
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        try Data(
            """
            {"incident_id": "\(incidentID)", "category": "return_obstacle", "subcategory": "property_occupation",
             "occurred_at": "2026-11-27", "municipality": "Klinë", "summary": "Returnee house occupied.", "source_type": "victim"}
            """.utf8
        ).write(to: URL(fileURLWithPath: file))
        let offline = try await ictl("report", "--file", file)
        #expect(offline.status == 75, "\(offline.stderr)")
        #expect(offline.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == incidentID)
        let queued = try await ictl("outbox", "list", "--format", "json")
        #expect(queued.stdout.contains(incidentID))
        #expect(disclosures(of: ["Returnee house occupied."], under: [home + "/data", home + "/config"]).isEmpty, "queued sealed")
        #expect(try await ictl("list").status == 69)
        return (file, incidentID)
    }

    /// With the daemon back: sync (twice), the same report again, and an empty outbox.
    func syncsAndReplays(file: String, incidentID: String) async throws {
        let sync = try await ictl("outbox", "sync")
        #expect(sync.status == 0, "\(sync.stderr)")
        #expect(try await ictl("outbox", "sync").status == 0)
        let replay = try await ictl("report", "--file", file)
        #expect(replay.status == 0, "\(replay.stderr)")
        #expect(!(try await ictl("outbox", "list", "--format", "json").stdout.contains(incidentID)), "the outbox is empty")
    }
}
