import Foundation
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

/// Where `texts` can be found in the files under `directories`: as they are, or in base64 at any
/// alignment (an outbox that kept bodies as base64 would hide them from a plain search).
func disclosures(of texts: [String], under directories: [String]) -> [String] {
    var forms: [(String, Data)] = []
    for text in texts {
        let bytes = Data(text.utf8)
        forms.append((text, bytes))
        for offset in 0..<3 {
            let encoded = Array((Data(repeating: 0x2A, count: offset) + bytes).base64EncodedString().utf8)
            // Drop the characters that also encode the filler before the text and the ragged end.
            let inner = encoded.dropFirst(offset == 0 ? 0 : 4).dropLast(4)
            if inner.count >= 8 { forms.append(("\(text) in base64", Data(inner))) }
        }
    }
    var found: [String] = []
    for directory in directories {
        guard let walker = FileManager.default.enumerator(atPath: directory) else { continue }
        for case let name as String in walker {
            let path = directory + "/" + name
            guard let contents = FileManager.default.contents(atPath: path) else { continue }
            for (what, form) in forms where contents.range(of: form) != nil { found.append("\(what) in \(path)") }
        }
    }
    return found
}

/// Files (not directories) under `directory`, recursively.
func files(under directory: String) -> [String] {
    var isDirectory: ObjCBool = false
    return (FileManager.default.enumerator(atPath: directory)?.allObjects as? [String] ?? []).filter {
        FileManager.default.fileExists(atPath: directory + "/" + $0, isDirectory: &isDirectory) && !isDirectory.boolValue
    }
}

/// One laptop's ictl: its own home, config and outbox, against a daemon on `port`.
struct Laptop {
    let home: String
    let port: Int
    let token: String

    init(port: Int, token: String) throws {
        home = FileManager.default.temporaryDirectory.appendingPathComponent("ictl-laptop-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: home + "/reports", withIntermediateDirectories: true)
        (self.port, self.token) = (port, token)
    }

    var config: String { home + "/config" }
    var outbox: String { home + "/data/incident-log/outbox" }
    var environment: [String: String] {
        ["ICTL_SERVER": "http://127.0.0.1:\(port)", "ICTL_TOKEN": token, "HOME": home, "XDG_DATA_HOME": home + "/data", "XDG_CONFIG_HOME": config,
         "ICTL_CONFIG": "", "ICTL_OUTBOX": ""]
    }

    func ictl(_ arguments: String..., offline: Bool = false) async throws -> Run {
        // Nothing listens on port 1: the laptop is off the network.
        let environment = offline ? self.environment.merging(["ICTL_SERVER": "http://127.0.0.1:1"]) { _, new in new } : self.environment
        return try await run(Binaries.ictl, arguments, environment: environment, timeout: .seconds(60))
    }

    /// The stored config as JSON.
    var stored: [String: Any]? {
        FileManager.default.contents(atPath: config + "/incident-log/ictl.json").flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
    }

    var storedKeyID: String? { (stored?["outbox_key"] as? [String: Any])?["key_id"] as? String }

    /// Writes a report file (the test's own, outside the outbox and config).
    func reportFile(_ fields: [String: Any]) throws -> String {
        let path = home + "/reports/\(UUID().uuidString).json"
        try JSONSerialization.data(withJSONObject: fields).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// `outbox list --format json`.
    func listed() async throws -> [[String: Any]] {
        let listed = try await ictl("outbox", "list", "--format", "json")
        #expect(listed.status == 0, "\(listed.stderr)")
        return (try? JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]]) ?? []
    }

    func remove() { try? FileManager.default.removeItem(atPath: home) }
}

func offlineReport(incidentID: String = UUID().uuidString.lowercased(), summary: String = "Returnee house damaged at night.", personal: [String: Any]? = nil,
            municipality: String = "Klinë") -> [String: Any] {
    var fields: [String: Any] = [
        "incident_id": incidentID, "category": "return_obstacle", "subcategory": "property_occupation", "occurred_at": "2026-11-27",
        "municipality": municipality, "summary": summary, "source_type": "victim",
    ]
    if let personal { fields["personal"] = personal }
    return fields
}

func eventCount(_ db: TestDatabase, stream: String) async throws -> Int {
    try await db.pool.withConnection { try $0.query("SELECT count(*) FROM events WHERE stream = $1", [stream]).first!.decode(0) }
}

@Suite("Sealed offline outbox: ictl and incidentd (subprocesses)")
struct SealedOutboxCLITests {
    @Test("reports with personal data and names in summary queued offline: no byte of those texts on disk; outbox list shows the entries; sync delivers each exactly once")
    func nothingInPlainText() async throws {
        try await TestDatabase.with { db in
            let token = try await AccessTokens(pool: db.pool).create(name: "field-laptop", role: .reporter)
            let port = Int.random(in: 20_000...32_000)
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
            var secrets: [String] = []
            var incidents: [String] = []
            for index in 0..<5 {
                let victim = "Drita Zeqiri-Victimname\(index)", witness = "Bekim Hoxha-Witnessname\(index)", named = "Fatmir Krasniqi-Summaryname\(index)"
                secrets += [victim, witness, named, "Victimname\(index)", "Witnessname\(index)", "Summaryname\(index)"]
                let fields = offlineReport(summary: "\(named) was beaten outside his house in Klinë.",
                                    personal: ["victims": [["name": victim, "age": 34]], "witnesses": [["name": witness, "phone": "+383 44 123 45\(index)"]]])
                let queued = try await laptop.ictl("report", "--file", try laptop.reportFile(fields))
                #expect(queued.status == 75, "\(queued.stderr)")
                incidents.append(queued.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
                #expect(incidents.last == fields["incident_id"] as? String, "the id is printed even when queued")
            }
            secrets += ["Reasonname Gashi", "Reasonname"]
            let amended = try await laptop.ictl("amend", incidents[0], "--expected-version", "1", "--set", "injured=2", "--reason", "told by Reasonname Gashi")
            #expect(amended.status == 75, "\(amended.stderr)")

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
            let shown = try await run(Binaries.ictl, ["show", incidents[2], "--format", "json", "--include-personal", "--reason", "check the delivered report"], environment: laptop.environment.merging(["ICTL_TOKEN": admin]) { _, new in new })
            #expect(shown.stdout.contains("Witnessname2"), "the personal data arrived whole, for an admin to read")
        }
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
            let port = Int.random(in: 20_000...32_000)
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
            let port = Int.random(in: 20_000...32_000)
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
            config["outbox_key"] = ["key_id": "00000000000000aa", "public_key": Data(repeating: 9, count: 32).base64EncodedString(), "suite": "DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM"]
            try JSONSerialization.data(withJSONObject: config).write(to: URL(fileURLWithPath: configPath))
            #expect(try await laptop.ictl("taxonomy", "--format", "json").status == 0)
            #expect(laptop.storedKeyID == first)
            #expect(laptop.stored?["token"] as? String == token, "the rest of the config is kept")
            #expect(try FileManager.default.attributesOfItem(atPath: configPath)[.posixPermissions] as? Int == 0o600)

            // Queued under the first key, which the operator then retires.
            let early = offlineReport()
            #expect(try await laptop.ictl("report", "--file", try laptop.reportFile(early), offline: true).status == 75)
            #expect(try Self.envelopeKeyIDs(laptop.outbox) == [first])
            let retire = try await run(Binaries.incidentd, ["keys", "retire-outbox-key", "--database-url", db.conninfo, "--master-key-file", TestKeys.file], environment: [:])
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
            let port = Int.random(in: 20_000...32_000)
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
            #expect(entries.count == 1 && entries.first?["command"] as? String == "report" && entries.first?["incident_id"] as? String == fields["incident_id"] as? String)
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
