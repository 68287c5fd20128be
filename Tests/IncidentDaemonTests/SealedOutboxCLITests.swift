import Foundation
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

@Suite("Sealed offline outbox: ictl and incidentd (subprocesses)")
struct SealedOutboxCLITests {
    @Test(
        "reports with personal data and names in summary queued offline: no byte of those texts on disk; outbox list shows the entries; sync delivers each exactly once")
    func nothingInPlainText() async throws {
        try await TestDatabase.with { db in
            let token = try await AccessTokens(pool: db.pool).create(name: "field-laptop", role: .reporter)
            let port = TestPorts.free()
            let laptop = try Laptop(port: port, token: token)
            defer { laptop.remove() }
            var daemon = try Daemon(conninfo: db.conninfo, port: port)
            try await daemon.ready()
            let login = try await laptop.ictl("login")
            #expect(login.status == 0, "\(login.stderr)")
            #expect(laptop.storedKeyID != nil, "login stores the server's outbox key")
            daemon.stop()

            // The daemon is down: five reports, each with a victim's and a witness's name in
            // `personal` and a name in the summary, and an amendment whose reason names someone.
            let (secrets, incidents) = try await Self.queueFiveReportsAndAnAmendment(laptop)

            let found = disclosures(of: secrets, under: [laptop.outbox, laptop.config])
            #expect(found.isEmpty, "plain text on disk: \(found)")
            #expect(files(under: laptop.outbox).filter { $0.hasSuffix(".json") }.count == 6)

            // What is outside the seal, and only that.
            let entries = try await laptop.listed()
            #expect(entries.count == 6)
            #expect(entries.map { $0["command"] as? String } == ["report", "report", "report", "report", "report", "amend"])
            #expect(entries.map { $0["incident_id"] as? String } == incidents + [incidents[0]])
            #expect(entries.allSatisfy { $0["attempts"] as? Int == 0 && $0["queued_at"] is String && $0["state"] as? String == "queued" })
            let table = try await laptop.ictl("outbox", "list", "--format", "table")
            #expect(table.stdout.contains(incidents[1]))
            for secret in secrets { #expect(!table.stdout.contains(secret) && !table.stderr.contains(secret)) }

            // A sync while the daemon is still down keeps everything and counts the attempt.
            #expect(try await laptop.ictl("outbox", "sync").status == 69)
            #expect(try await laptop.listed().first?["last_error"] as? String == "unreachable")
            #expect(disclosures(of: secrets, under: [laptop.outbox, laptop.config]).isEmpty)

            daemon = try Daemon(conninfo: db.conninfo, port: port)
            defer { daemon.stop() }
            try await daemon.ready()
            let sync = try await laptop.ictl("outbox", "sync")
            #expect(sync.status == 0, "\(sync.stderr)")
            #expect(sync.stderr.contains("6 of 6 delivered"), "\(sync.stderr)")
            #expect(try await laptop.ictl("outbox", "sync").status == 0)
            #expect(try await laptop.listed().isEmpty)
            for (index, incident) in incidents.enumerated() {
                #expect(try await eventCount(db, stream: "incident-" + incident) == (index == 0 ? 2 : 1), "each write stored exactly once")
            }
            // The same report sent again (a retry from its file) is a replay, not a second incident.
            let admin = try await AccessTokens(pool: db.pool).create(name: "office-admin", role: .admin)
            let shown = try await run(
                Binaries.ictl, ["show", incidents[2], "--format", "json", "--include-personal", "--reason", "check the delivered report"],
                environment: laptop.environment.merging(["ICTL_TOKEN": admin]) { _, new in new })
            #expect(shown.stdout.contains("Witnessname2"), "the personal data arrived whole, for an admin to read")
        }
    }

    /// Queued offline (75): five reports with names in `personal` and the summary, and an amendment whose reason names someone; returns the names and the incident ids.
    private static func queueFiveReportsAndAnAmendment(_ laptop: Laptop) async throws -> (secrets: [String], incidents: [String]) {
        var secrets: [String] = []
        var incidents: [String] = []
        for index in 0..<5 {
            let victim = "Drita Zeqiri-Victimname\(index)", witness = "Bekim Hoxha-Witnessname\(index)", named = "Fatmir Krasniqi-Summaryname\(index)"
            secrets += [victim, witness, named, "Victimname\(index)", "Witnessname\(index)", "Summaryname\(index)"]
            let fields = offlineReport(
                summary: "\(named) was beaten outside his house in Klinë.",
                personal: ["victims": [["name": victim, "age": 34]], "witnesses": [["name": witness, "phone": "+383 44 123 45\(index)"]]])
            let queued = try await laptop.ictl("report", "--file", try laptop.reportFile(fields))
            #expect(queued.status == 75, "\(queued.stderr)")
            incidents.append(queued.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
            #expect(incidents.last == fields["incident_id"] as? String, "the id is printed even when queued")
        }
        secrets += ["Reasonname Gashi", "Reasonname"]
        let amended = try await laptop.ictl("amend", incidents[0], "--expected-version", "1", "--set", "injured=2", "--reason", "told by Reasonname Gashi")
        #expect(amended.status == 75, "\(amended.stderr)")
        return (secrets, incidents)
    }

    @Test("never logged in while online: a write that would be queued exits 69 saying to log in once online; nothing is written")
    func noKeyNoQueue() async throws {
        let laptop = try Laptop(port: 1, token: "il_never-used")
        defer { laptop.remove() }
        let refused = try await laptop.ictl("report", "--file", try laptop.reportFile(offlineReport(summary: "Named Person-Noqueue was threatened.")))
        #expect(refused.status == 69, "\(refused.stderr)")
        #expect(refused.stderr.contains("log in once while online"), "\(refused.stderr)")
        #expect(refused.stdout.isEmpty, "no incident id: nothing was kept")
        #expect(!FileManager.default.fileExists(atPath: laptop.outbox), "no outbox was made")
        #expect(files(under: laptop.config).isEmpty)
        let amend = try await laptop.ictl("amend", UUID().uuidString, "--expected-version", "1", "--set", "injured=1", "--reason", "r")
        #expect(amend.status == 69)
        #expect(!FileManager.default.fileExists(atPath: laptop.outbox))
    }

    @Test("an entry the daemon rejects stays sealed in outbox/rejected/, shows in list with its status, is deleted after 30 days or by outbox purge")
    func rejectedStaySealed() async throws {
        try await TestDatabase.with { db in
            let token = try await AccessTokens(pool: db.pool).create(name: "field-laptop", role: .reporter)
            let port = TestPorts.free()
            let laptop = try Laptop(port: port, token: token)
            defer { laptop.remove() }
            let daemon = try Daemon(conninfo: db.conninfo, port: port)
            defer { daemon.stop() }
            try await daemon.ready()
            #expect(try await laptop.ictl("login").status == 0)

            let secrets = ["Atlantis-Rejectedplace", "Rejectedplace", "Vjosa Rejectedname", "Rejectedname"]
            let invalid = offlineReport(summary: "Vjosa Rejectedname saw it.", municipality: "Atlantis-Rejectedplace")
            let valid = offlineReport()
            for fields in [invalid, valid] {
                #expect(try await laptop.ictl("report", "--file", try laptop.reportFile(fields), offline: true).status == 75)
            }
            let sync = try await laptop.ictl("outbox", "sync")
            #expect(sync.status == 65, "a rejected entry: exit 65 \(sync.stderr)")
            #expect(sync.stderr.contains("rejected: report \(invalid["incident_id"]!)"), "\(sync.stderr)")
            #expect(try await eventCount(db, stream: "incident-\(valid["incident_id"]!)") == 1, "the valid one was delivered")
            #expect(try await eventCount(db, stream: "incident-\(invalid["incident_id"]!)") == 0)

            let rejected = files(under: laptop.outbox + "/rejected").filter { $0.hasSuffix(".json") }
            #expect(rejected.count == 1)
            #expect(disclosures(of: secrets, under: [laptop.outbox, laptop.config]).isEmpty, "rejected, still sealed")
            let entries = try await laptop.listed()
            #expect(entries.count == 1)
            #expect(entries.first?["state"] as? String == "rejected")
            #expect(entries.first?["last_error"] as? String == "422 validation_failed")
            #expect(entries.first?["incident_id"] as? String == invalid["incident_id"] as? String)
            #expect(try await laptop.ictl("outbox", "sync").status == 0, "a rejected entry is not sent again")

            // Rejected 31 days ago: gone at the next use of the outbox. The fresh one stays.
            #expect(try await laptop.ictl("report", "--file", try laptop.reportFile(offlineReport(municipality: "Atlantis")), offline: true).status == 75)
            #expect(try await laptop.ictl("outbox", "sync").status == 65)
            let both = files(under: laptop.outbox + "/rejected").filter { $0.hasSuffix(".json") }.sorted()
            #expect(both.count == 2)
            try FileManager.default.setAttributes([.modificationDate: Date().addingTimeInterval(-31 * 86_400)], ofItemAtPath: laptop.outbox + "/rejected/" + both[0])
            #expect(try await laptop.listed().count == 1, "the 31-day-old entry was deleted")
            #expect(files(under: laptop.outbox + "/rejected").filter { $0.hasSuffix(".json") } == [both[1]])

            let purge = try await laptop.ictl("outbox", "purge")
            #expect(purge.status == 0 && purge.stderr.contains("deleted 1"), "\(purge.stderr)")
            #expect(files(under: laptop.outbox + "/rejected").filter { $0.hasSuffix(".json") }.isEmpty)
            #expect(try await laptop.listed().isEmpty)
        }
    }

    @Test("the stored key follows the server's: refreshed by any successful command when it differs; a key retired by the operator still delivers")
    func keyRefresh() async throws {
        try await TestDatabase.with { db in
            let token = try await AccessTokens(pool: db.pool).create(name: "field-laptop", role: .reporter)
            let port = TestPorts.free()
            let laptop = try Laptop(port: port, token: token)
            defer { laptop.remove() }
            let daemon = try Daemon(conninfo: db.conninfo, port: port)
            defer { daemon.stop() }
            try await daemon.ready()
            #expect(try await laptop.ictl("login").status == 0)
            let first = try #require(laptop.storedKeyID)
            let configPath = laptop.config + "/incident-log/ictl.json"
            #expect(try FileManager.default.attributesOfItem(atPath: configPath)[.posixPermissions] as? Int == 0o600)

            // A stale key in the config: the next successful command puts the current one back.
            var config = try #require(laptop.stored)
            config["outbox_key"] = [
                "key_id": "00000000000000aa", "public_key": Data(repeating: 9, count: 32).base64EncodedString(),
                "suite": "DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM",
            ]
            try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
            #expect(try await laptop.ictl("taxonomy", "--format", "json").status == 0)
            #expect(laptop.storedKeyID == first)
            #expect(laptop.stored?["token"] as? String == token, "the rest of the config is kept")
            #expect(try FileManager.default.attributesOfItem(atPath: configPath)[.posixPermissions] as? Int == 0o600)

            // Queued under the first key, which the operator then retires.
            let early = offlineReport()
            #expect(try await laptop.ictl("report", "--file", try laptop.reportFile(early), offline: true).status == 75)
            #expect(try Self.envelopeKeyIDs(laptop.outbox) == [first])
            let retire = try await run(
                Binaries.incidentd, ["keys", "retire-outbox-key", "--database-url", db.conninfo, "--master-key-file", TestKeys.file], environment: [:])
            #expect(retire.status == 0, "\(retire.stderr)")
            let second = retire.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(second.count == 16 && second != first)
            // Logging in again takes the new key, and (a successful command) delivers the queue:
            // the envelope sealed to the retired key still opens.
            let login = try await laptop.ictl("login")
            #expect(login.status == 0 && login.stderr.contains("delivered 1"), "\(login.stderr)")
            #expect(laptop.storedKeyID == second)
            #expect(try await eventCount(db, stream: "incident-\(early["incident_id"]!)") == 1)

            let late = offlineReport()
            #expect(try await laptop.ictl("report", "--file", try laptop.reportFile(late), offline: true).status == 75)
            #expect(try Self.envelopeKeyIDs(laptop.outbox) == [second], "sealed to the key stored when it was queued")
            let sync = try await laptop.ictl("outbox", "sync")
            #expect(sync.status == 0, "\(sync.stderr)")
            #expect(try await eventCount(db, stream: "incident-\(late["incident_id"]!)") == 1)
        }
    }

    @Test("entries an older ictl kept in plain text are sealed in place at the next use of the outbox, then delivered")
    func olderEntriesSealed() async throws {
        try await TestDatabase.with { db in
            let token = try await AccessTokens(pool: db.pool).create(name: "field-laptop", role: .reporter)
            let port = TestPorts.free()
            let laptop = try Laptop(port: port, token: token)
            defer { laptop.remove() }
            let daemon = try Daemon(conninfo: db.conninfo, port: port)
            defer { daemon.stop() }
            try await daemon.ready()
            #expect(try await laptop.ictl("login").status == 0)

            // As the ictl before the sealed outbox wrote them (JSONEncoder's defaults).
            let fields = offlineReport(summary: "Olderplain Name saw it.")
            let body = try JSONSerialization.data(withJSONObject: fields)
            let older: [String: Any] = [
                "id": "1700000000000000-0a1b2c3d", "createdAt": 720_000_000.0, "method": "POST", "path": "/v1/incidents",
                "body": body.base64EncodedString(), "idempotencyKey": "", "summary": "report \(fields["incident_id"]!) (return_obstacle/property_occupation, Klinë)",
            ]
            try FileManager.default.createDirectory(atPath: laptop.outbox + "/rejected", withIntermediateDirectories: true)
            try JSONSerialization.data(withJSONObject: older).write(to: URL(fileURLWithPath: laptop.outbox + "/1700000000000000-0a1b2c3d.json"))
            try Data("no municipality 'Olderplain'".utf8).write(to: URL(fileURLWithPath: laptop.outbox + "/rejected/1600000000000000-00000000.reason.txt"))
            #expect(!disclosures(of: ["Olderplain"], under: [laptop.outbox]).isEmpty, "the test wrote it in plain")

            let entries = try await laptop.listed()
            #expect(
                entries.count == 1 && entries.first?["command"] as? String == "report" && entries.first?["incident_id"] as? String == fields["incident_id"] as? String)
            #expect(disclosures(of: ["Olderplain"], under: [laptop.outbox]).isEmpty, "sealed in place")
            #expect(try await laptop.ictl("outbox", "sync").status == 0)
            #expect(try await eventCount(db, stream: "incident-\(fields["incident_id"]!)") == 1)
        }
    }

    /// The key ids the queued envelopes name.
    static func envelopeKeyIDs(_ outbox: String) throws -> [String] {
        try files(under: outbox).filter { $0.hasSuffix(".json") && !$0.contains("/") }.map { name in
            let entry = try #require(try JSONSerialization.jsonObject(with: try Data(contentsOf: URL(fileURLWithPath: outbox + "/" + name))) as? [String: Any])
            let envelope = try #require((entry["envelope"] as? String).flatMap { Data(base64Encoded: $0) })
            let object = try #require(try JSONSerialization.jsonObject(with: envelope) as? [String: Any])
            return try #require(object["key_id"] as? String)
        }
    }
}
