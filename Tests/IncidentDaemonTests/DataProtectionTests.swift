import Crypto
import Foundation
import HTTPTypes
import IncidentTesting
import Logging
import PostgresLibpq
import Synchronization
import Testing

@testable import IncidentStore

/// docs/operations.md, The master key and Backups: what a database dump, a restored backup and a key rotation expose.
@Suite("Data protection at rest: dumps, restores, rotation, master key refusals")
struct DataProtectionTests {
    /// Texts that identify people, each of one kind, so a search of a dump can name what leaked.
    struct Secrets {
        static let victim = "Vjosana Berisha-Gashi", phone = "+383 49 771 204"
        static let confidentialVictim = "Arbnora Kelmendi-Hoti", confidentialPhone = "+383 45 610 938"
        static let confidential = [
            "summary": "Arbnora was held at the Gold Star bar", "place": "behind the Gold Star bar",
            "perpetrator": "the bar owner Dren Mustafa", "target": "a girl of 16 from Shtime",
        ]
        static let confidentialReason = "the witness Liridona Sopi corrected the date"
        static let confidentialNote = "confirmed by the shelter nurse Teuta Rama"
        static let open = ["summary": "Windows of the Krasniqi shop were broken", "place": "near the Sinan Pasha mosque"]
        static let openReason = "the shopkeeper Fatmir Krasniqi called back"
        static let openNote = "seen by the patrol of officer Besa Morina"
        static let redacted = "Blerim Kelmendi was named as the informant"
        static let replacement = "An informant was threatened."
    }

    @Test(
        "a pg_dump (plain and custom) holds no personal data, no text of a confidential incident, no redacted text, and no key that opens anything; the log holds no free text at all"
    )
    func dumpsExposeNothing() async throws {
        try await API.run { api in
            // A confidential incident with personal data, amended and verified; an open one with
            // personal data, amended and verified; one redacted.
            let (confidential, redacted) = try await Self.reportAmendVerifyRedact(api)

            // What the API still gives those who may see it.
            let read = try await api.call(.get, "/v1/incidents/\(confidential)?history=true", token: api.admin)
            #expect(read["incident"]?.objectValue?["summary"]?.stringValue == Secrets.confidential["summary"])
            #expect(read.json?.encodedString.contains(Secrets.confidentialReason) == true, "the history opens the reason")
            let redactedRead = try await api.call(.get, "/v1/incidents/\(redacted)?history=true", token: api.admin)
            #expect(redactedRead["incident"]?.objectValue?["summary"]?.stringValue == Secrets.replacement)
            #expect(redactedRead.json?.encodedString.contains(Secrets.redacted) == false, "not even in the history")
            let listed = try await api.call(.get, "/v1/incidents?q=informant", token: api.admin)
            #expect(listed["items"]?.arrayValue?.count == 1, "search finds the replacement")

            let forbidden =
                [
                    Secrets.victim, Secrets.phone, Secrets.confidentialVictim, Secrets.confidentialPhone, Secrets.confidentialReason,
                    Secrets.confidentialNote, Secrets.redacted,
                ] + Array(Secrets.confidential.values)
            let dumps = try await Self.dumpsHoldNone(of: forbidden, api)

            // The log's rows hold none of the free text of any incident, open or confidential.
            let log: String = try await api.db.pool.withConnection { try $0.query("SELECT string_agg(data::text || metadata::text, ' ') FROM events").first!.decode(0) }
            for text in forbidden + Array(Secrets.open.values) + [Secrets.openReason, Secrets.openNote, Secrets.replacement] {
                #expect(!log.contains(text), "the log holds \(text)")
            }

            let (wrapped, tries, opened) = try await keysAsStoredOpenNothing(api)
            print(
                "data protection figures: dumps \(dumps.mapValues(\.count)), \(forbidden.count) texts searched, \(wrapped) wrapped keys, \(tries) key windows tried, \(opened) values opened with the master key"
            )
        }
    }

    /// Reports the confidential, the open and the to-be-redacted incident, amends and verifies the
    /// first two, redacts the third; returns the confidential and the redacted one.
    private static func reportAmendVerifyRedact(_ api: API) async throws -> (confidential: String, redacted: String) {
        let confidential = try #require(
            try await api.call(
                .post, "/v1/incidents", token: api.reporter,
                json: report([
                    "category": "sexual_violence", "subcategory": "sexual_violence",
                    "summary": .string(Secrets.confidential["summary"]!), "place": .string(Secrets.confidential["place"]!),
                    "perpetrator": .string(Secrets.confidential["perpetrator"]!), "target": .string(Secrets.confidential["target"]!),
                    "personal": ["victims": [["name": .string(Secrets.confidentialVictim), "phone": .string(Secrets.confidentialPhone)]]],
                ]))["incident_id"]?.stringValue)
        let open = try #require(
            try await api.call(
                .post, "/v1/incidents", token: api.reporter,
                json: report([
                    "summary": .string(Secrets.open["summary"]!), "place": .string(Secrets.open["place"]!),
                    "personal": ["witnesses": [["name": .string(Secrets.victim), "phone": .string(Secrets.phone)]]],
                ]))["incident_id"]?.stringValue)
        let redacted = try #require(
            try await api.call(
                .post, "/v1/incidents", token: api.reporter,
                json: report([
                    "summary": .string(Secrets.redacted)
                ]))["incident_id"]?.stringValue)
        for (id, reason, note) in [(confidential, Secrets.confidentialReason, Secrets.confidentialNote), (open, Secrets.openReason, Secrets.openNote)] {
            #expect(
                try await api.call(
                    .post, "/v1/incidents/\(id)/amendments", token: api.reviewer,
                    json: ["expected_version": 1, "changes": ["injured": 2], "reason": .string(reason)]
                ).status == 201)
            #expect(
                try await api.call(
                    .post, "/v1/incidents/\(id)/verification", token: api.reviewer,
                    json: ["expected_version": 2, "decision": "verified", "note": .string(note)]
                ).status == 201)
        }
        let redaction = try await api.call(
            .post, "/v1/incidents/\(redacted)/narrative:redact", token: api.admin,
            json: ["reason": "names an informant", "replacement": ["summary": .string(Secrets.replacement)]])
        #expect(redaction.status == 201)
        try await api.settle()
        return (confidential, redacted)
    }

    /// pg_dump in plain and custom (uncompressed) format: none holds any of `forbidden` or a table of
    /// plain keys; returns the dumps.
    private static func dumpsHoldNone(of forbidden: [String], _ api: API) async throws -> [String: Data] {
        // The dumps, searched byte by byte (custom format uncompressed, so that a search means something).
        let directory = FileManager.default.temporaryDirectory.path + "/incident-dump-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pgDump = try LocalCluster(dataDirectory: directory + "/unused").tool("pg_dump")
        var dumps: [String: Data] = [:]
        for (format, extra) in [("plain", [String]()), ("custom", ["--compress=0"])] {
            let file = directory + "/dump." + format
            let dumped = try await run(pgDump, ["--format=" + format, "--file", file, "--dbname", api.db.conninfo] + extra, environment: [:], timeout: .seconds(120))
            #expect(dumped.status == 0, "\(dumped.stderr)")
            dumps[format] = try Data(contentsOf: URL(fileURLWithPath: file))
        }
        for (format, dump) in dumps {
            #expect(dump.count > 10_000, "\(format): a real dump")
            // The search finds what is there: open text stays plain in the read model (for search).
            #expect(dump.range(of: Data(Secrets.open["summary"]!.utf8)) != nil, "\(format): the search sees plain text")
            for text in forbidden {
                #expect(dump.range(of: Data(text.utf8)) == nil, "\(format) dump holds \(text)")
            }
            #expect(dump.range(of: Data("TABLE public.personal_data_keys".utf8)) == nil, "\(format): no table of plain keys")
            #expect(dump.range(of: Data("TABLE public.incident_keys".utf8)) != nil, "\(format): the wrapped keys are in it")
        }
        return dumps
    }

    /// No key as stored opens anything: every 32 bytes of every wrapped key, tried on every
    /// sealed value, as a personal data key and as a narrative key. The same with the master
    /// key opens them (the check can fail). Returns the wrapped keys, the windows tried and the values opened.
    private func keysAsStoredOpenNothing(_ api: API) async throws -> (wrapped: Int, tries: Int, opened: Int) {
        let (wrapped, sealed) = try await api.db.pool.withConnection { connection in
            let keys = try connection.query("SELECT incident_id, purpose, generation, master_key_id, encode(wrapped_key, 'hex') FROM incident_keys").rows.map { row in
                (
                    incident: try row.decode(0, as: UUID.self), purpose: try row.decode(1, as: String.self), bytes: Data(hex: try row.decode(4, as: String.self)),
                    wrapped: WrappedKey(masterKeyID: try row.decode(3), bytes: Data(hex: try row.decode(4, as: String.self)))
                )
            }
            let values = try connection.query(
                """
                SELECT substr(stream, 10)::uuid, type, coalesce(data->'personal'->>'ciphertext', ''), coalesce(data->'narrative'->>'sealed', '') FROM events
                """
            ).rows.map { row in
                (
                    incident: try row.decode(0, as: UUID.self), type: try row.decode(1, as: String.self),
                    personal: Data(base64Encoded: try row.decode(2, as: String.self)) ?? Data(),
                    narrative: Data(base64Encoded: try row.decode(3, as: String.self)) ?? Data()
                )
            }
            return (keys, values)
        }
        #expect(wrapped.count >= 5 && sealed.count >= 7)
        var tries = 0
        for key in wrapped {
            for start in 0...(key.bytes.count - 32) {
                let candidate = SymmetricKey(data: key.bytes[key.bytes.startIndex + start..<key.bytes.startIndex + start + 32])
                for value in sealed where value.incident == key.incident {
                    tries += 1
                    #expect(!opens(value.personal, value.narrative, type: value.type, incident: value.incident, with: candidate), "a stored key opened a sealed value")
                }
            }
        }
        var opened = 0
        for key in wrapped {
            let real = try TestKeys.ring.unwrap(key.wrapped, purpose: KeyPurpose(rawValue: key.purpose)!, subject: key.incident.postgresText)
            for value in sealed where value.incident == key.incident && opens(value.personal, value.narrative, type: value.type, incident: value.incident, with: real) {
                opened += 1
            }
        }
        #expect(opened >= 7, "the unwrapped keys open the sealed values (\(opened))")
        return (wrapped.count, tries, opened)
    }

    /// What the load beside a rotation saw, shared by its tasks.
    final class RotationLoad: Sendable {
        let failures = Mutex<[String]>([])
        let counts = Mutex((writes: 0, reads: 0))
        let rotating = Mutex(true)
    }

    /// Whether `key` opens a personal ciphertext or a sealed narrative of `incident`.
    func opens(_ personal: Data, _ narrative: Data, type: String, incident: UUID, with key: SymmetricKey) -> Bool {
        if !personal.isEmpty {
            if Sealing.open(personal, with: key, context: PersonalDataVault.context(incident)) != nil { return true }
            if let box = try? AES.GCM.SealedBox(combined: personal), (try? AES.GCM.open(box, using: key)) != nil { return true }
        }
        if !narrative.isEmpty, let eventType = IncidentEvent.EventType(rawValue: type),
            Sealing.open(narrative, with: key, context: NarrativeVault.context(incident, eventType)) != nil
        {
            return true
        }
        return false
    }

    @Test("a backup made before an erasure and a redaction, restored by incidentd restore and by hand: the erased and redacted stay unreadable, and the history says so")
    func restoreKeepsErasures() async throws {
        let scratch = FileManager.default.temporaryDirectory.path + "/incident-ledger-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        // The daemon's own key, and the ledger beside it.
        let key = scratch + "/master.key"
        #expect(try await run(Binaries.incidentd, ["keys", "init", "--master-key-file", key], environment: [:]).status == 0)
        let dump = scratch + "/before.dump"
        let erasedName = "Shqipe Dervishi-Bytyqi", redactedText = "the informant Agim Bytyqi lives by the school"
        let (erased, redacted, admin) = try await Self.backupThenEraseAndRedact(
            scratch: scratch, key: key, dump: dump, erasedName: erasedName, redactedText: redactedText)
        let ledger = try ErasureLedger(path: key + ".erasures").entries()
        #expect(ledger.map(\.kind) == [.personalData, .narrative], "\(ledger)")
        #expect(try String(contentsOfFile: key + ".erasures", encoding: .utf8).contains("asked by") == false, "the ledger holds no reason")

        /// What a restored daemon must show: both unreadable, both in the history.
        func expectErased(port: Int, _ how: String) async {
            let person = await get(port, "/v1/incidents/\(erased)?history=true&include=personal", token: admin, headers: personalRead).json
            #expect(person?.objectValue?["personal_data_erased"] == true, "\(how): \(person?.encodedString ?? "no answer")")
            #expect(person?.encodedString.contains(erasedName) == false, "\(how): the erased name is gone")
            #expect(person?.encodedString.contains("PersonalDataErased") == true, "\(how): the erasure is in the history")
            let text = await get(port, "/v1/incidents/\(redacted)?history=true", token: admin).json
            #expect(text?.objectValue?["incident"]?.objectValue?["summary"]?.stringValue == NarrativeVault.redacted, "\(how): \(text?.encodedString ?? "no answer")")
            #expect(text?.encodedString.contains(redactedText) == false, "\(how): the redacted text is gone, history included")
            #expect(text?.encodedString.contains("NarrativeRedacted") == true, "\(how): the redaction is in the history")
            let listed = await get(port, "/v1/incidents?limit=500", token: admin).json
            #expect(
                listed?.encodedString.contains(redactedText) == false && listed?.encodedString.contains(NarrativeVault.redacted) == true,
                "\(how): the list shows the redaction from the first answer")
        }

        // incidentd restore, with the daemon's key: the ledger is applied before anything is served.
        let restoredDir = scratch + "/restored"
        let restored = try await run(
            Binaries.incidentd, ["restore", dump, "--data-dir", restoredDir, "--master-key-file", key], environment: [:], timeout: .seconds(180))
        #expect(restored.status == 0, "\(restored.stderr)")
        do {
            let port = TestPorts.free()
            let daemon = try Daemon(conninfo: nil, port: port, arguments: ["--data-dir", restoredDir])
            defer { daemon.stop() }
            try await daemon.ready()
            await expectErased(port: port, "incidentd restore")
        }

        // By hand: pg_restore into a cluster of our own, the counter moved as docs/operations.md
        // says, then serve with the key: serve applies the ledger itself.
        let logger = Logger(label: "ledger-test")
        let cluster = try LocalCluster(dataDirectory: scratch + "/by-hand")
        defer { try? cluster.stop(logger: logger) }
        try await Self.restoreByHandAndMoveTheCounter(cluster, dump: dump, logger: logger)
        let port = TestPorts.free()
        let daemon = try Daemon(conninfo: cluster.conninfo(database: "incident_log"), port: port, arguments: ["--master-key-file", key])
        defer { daemon.stop() }
        try await daemon.ready()
        await expectErased(port: port, "pg_restore by hand, then serve")
    }

    /// A daemon on a fresh database with `key`: two reports (one with `erasedName`, one saying
    /// `redactedText`), the backup to `dump`, then the erasure and the redaction.
    /// Returns the two incident ids and the admin token.
    private static func backupThenEraseAndRedact(
        scratch: String, key: String, dump: String, erasedName: String, redactedText: String
    ) async throws -> (String, String, String) {
        try await TestDatabase.with(migrated: false) { db in
            let port = TestPorts.free()
            let daemon = try Daemon(conninfo: db.conninfo, port: port, arguments: ["--master-key-file", key])
            defer { daemon.stop() }
            try await daemon.ready()
            let admin = try await AccessTokens(pool: db.pool).create(name: "admin", role: .admin)
            let erased = try #require(
                await post(port, token: admin, body: report(["personal": ["victims": [["name": .string(erasedName)]]]]).encoded()).json?.objectValue?["incident_id"]?
                    .stringValue)
            let redacted = try #require(
                await post(port, token: admin, body: report(["summary": .string(redactedText)]).encoded()).json?.objectValue?["incident_id"]?.stringValue)
            #expect(await get(port, "/v1/incidents/\(erased)?include=personal", token: admin, headers: personalRead).json?.encodedString.contains(erasedName) == true)
            let pgDump = try LocalCluster(dataDirectory: scratch + "/unused").tool("pg_dump")
            let dumped = try await run(pgDump, ["--format=custom", "--file", dump, "--dbname", db.conninfo], environment: [:], timeout: .seconds(120))
            #expect(dumped.status == 0, "\(dumped.stderr)")
            // After the backup: the erasure and the redaction.
            #expect(
                await post(port, "/v1/incidents/\(erased)/personal-data:erase", token: admin, body: JSONValue.object(["reason": "asked by the victim"]).encoded()).status
                    == 201)
            #expect(
                await post(port, "/v1/incidents/\(redacted)/narrative:redact", token: admin, body: JSONValue.object(["reason": "names an informant"]).encoded()).status
                    == 201)
            return (erased, redacted, admin)
        }
    }

    /// pg_restore of `dump` into `cluster`, then its transaction counter moved past the log's, as docs/operations.md says.
    private static func restoreByHandAndMoveTheCounter(_ cluster: LocalCluster, dump: String, logger: Logger) async throws {
        try await onOwnThread {
            try cluster.start(logger: logger)
            _ = try cluster.runClient(
                "psql", ["--dbname", cluster.conninfo(), "-c", "CREATE ROLE incident_app NOLOGIN", "-c", "CREATE DATABASE incident_log"], what: "prepare")
            _ = try cluster.runClient("pg_restore", ["--no-owner", "--exit-on-error", "--dbname", cluster.conninfo(database: "incident_log"), dump], what: "restore")
        }
        let pool = ConnectionPool(configuration: .init(conninfo: cluster.conninfo(database: "incident_log"), maxConnections: 1))
        let highest: UInt64 = try await pool.withConnection { try $0.query("SELECT max(transaction_id)::text FROM events").first!.decode(0) }
        await pool.close()
        try await onOwnThread {
            try cluster.stop(logger: logger)
            _ = try cluster.advanceTransactionIDs(past: highest, logger: logger)
            try cluster.start(logger: logger)
        }
    }

    @Test("the master key rotated while 8 writers report and an admin reads personal data: no request fails, every key ends under the new key, the old file can go")
    func rotationUnderLoad() async throws {
        let scratch = FileManager.default.temporaryDirectory.path + "/incident-rotate-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let old = scratch + "/old.key", new = scratch + "/new.key"
        #expect(try await run(Binaries.incidentd, ["keys", "init", "--master-key-file", old], environment: [:]).status == 0)
        let newID = try await run(Binaries.incidentd, ["keys", "init", "--master-key-file", new], environment: [:]).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(newID.count == 16)
        try await TestDatabase.with(migrated: false) { db in
            let port = TestPorts.free()
            var daemon = try Daemon(conninfo: db.conninfo, port: port, arguments: ["--master-key-file", old])
            try await daemon.ready()
            let admin = try await AccessTokens(pool: db.pool).create(name: "admin", role: .admin)
            let reporter = try await AccessTokens(pool: db.pool).create(name: "reporter", role: .reporter)
            // Keys enough for the rotation to take a while: 2,000 incidents, two keys each.
            let (sample, bare) = try await Self.loadKeysToRotate(db, port: port, reporter: reporter)

            let load = RotationLoad()
            let bareIDs = bare
            let rotation = Task {
                try await run(
                    Binaries.incidentd, ["keys", "rotate", "--database-url", db.conninfo, "--master-key-file", old, "--new-master-key-file", new], environment: [:],
                    timeout: .seconds(300))
            }
            await Self.loadBesideTheRotation(rotation, load: load, port: port, reporter: reporter, admin: admin, sample: sample, bareIDs: bareIDs)
            let done = load.counts.withLock { $0 }
            #expect(load.failures.withLock { $0 }.isEmpty, "\(load.failures.withLock { Array($0.prefix(5)) })")
            #expect(done.writes >= 8 && done.reads >= 1, "load ran beside the rotation: \(done)")
            let masters: [String] = try await db.pool.withConnection {
                try $0.query("SELECT DISTINCT master_key_id FROM incident_keys UNION SELECT DISTINCT master_key_id FROM outbox_keys").rows.map { try $0.decode(0) }
            }
            #expect(masters == [newID], "every key under the new master key: \(masters)")

            // The old key file goes; the running daemon and a restarted one open everything.
            try FileManager.default.removeItem(atPath: old)
            let written: [String] = try await db.pool.withConnection {
                try $0.query("SELECT substr(stream, 10) FROM events ORDER BY global_position DESC LIMIT 20").rows.map { try $0.decode(0) }
            }
            for id in sample.prefix(10) + written.prefix(10) {
                #expect(
                    await get(port, "/v1/incidents/\(id)?include=personal", token: admin, headers: personalRead).json?.objectValue?["incident"]?.objectValue?["personal"]?
                        .objectValue != nil, "\(id) opens")
            }
            daemon.stop()
            daemon = try Daemon(conninfo: db.conninfo, port: port, arguments: ["--master-key-file", new])
            defer { daemon.stop() }
            try await daemon.ready()
            for id in sample.prefix(10) + written.prefix(10) {
                let answer = await get(port, "/v1/incidents/\(id)?include=personal", token: admin, headers: personalRead).json?.objectValue?["incident"]?.objectValue
                #expect(
                    answer?["personal"]?.objectValue != nil && (answer?["summary"]?.stringValue ?? NarrativeVault.redacted) != NarrativeVault.redacted,
                    "\(id) opens after a restart with the new key")
            }
            print("rotation figures: \(done.writes) reports and \(done.reads) personal reads during the rotation, 0 failed; keys under \(masters)")
        }
    }

    /// A report with personal data, numbered.
    private static func rotationReport(_ n: Int) -> JSONValue {
        report(["summary": .string("Rotation report \(n): a returnee family threatened."), "personal": ["victims": [["name": .string("Person \(n)")]]]])
    }

    /// 2,000 incidents with personal data (in batches) and 200 without; returns 50 of the first
    /// and the ids of the second.
    private static func loadKeysToRotate(_ db: TestDatabase, port: Int, reporter: String) async throws -> (sample: [String], bare: [String]) {
        for first in stride(from: 0, to: 2000, by: 250) {
            let batch = Data((first..<first + 250).map { rotationReport($0).encodedString }.joined(separator: "\n").utf8)
            let loaded = await post(port, "/v1/incidents:batch", token: reporter, body: batch, contentType: "application/x-ndjson")
            #expect(loaded.json?.objectValue?["accepted"]?.numberValue == 250, "\(loaded.status.map(String.init) ?? "no answer") \(loaded.json?.encodedString ?? "")")
        }
        let sample: [String] = try await db.pool.withConnection {
            try $0.query("SELECT substr(stream, 10) FROM events ORDER BY global_position LIMIT 50").rows.map { try $0.decode(0) }
        }
        var bare: [String] = []
        for _ in 0..<200 {
            if let id = await post(port, token: reporter, body: report(["summary": "A report without personal data."]).encoded()).json?.objectValue?["incident_id"]?
                .stringValue
            {
                bare.append(id)
            }
        }
        return (sample, bare)
    }

    /// Eight writers, amendments that add personal data, and an admin reading personal data, until
    /// a second after `rotation` ends (which must succeed); what they saw goes to `load`.
    private static func loadBesideTheRotation(
        _ rotation: Task<Run, any Error>, load: RotationLoad, port: Int, reporter: String, admin: String,
        sample: [String], bareIDs: [String]
    ) async {
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<8 {
                group.addTask {
                    var n = 10_000 * (writer + 1)
                    while load.rotating.withLock({ $0 }) {
                        n += 1
                        let answer = await post(port, token: reporter, body: rotationReport(n).encoded())
                        if answer.status != 201 { load.failures.withLock { $0.append("write \(n): \(answer.status.map(String.init) ?? "no answer")") } }
                        load.counts.withLock { $0.writes += 1 }
                    }
                }
            }
            // Amendments that give personal data to incidents that had none: each key is made
            // by a statement of its own, outside the group write.
            group.addTask {
                for id in bareIDs where load.rotating.withLock({ $0 }) {
                    let change = JSONValue.object([
                        "expected_version": 1, "changes": ["personal": ["witnesses": [["name": "A late witness"]]]], "reason": "a witness came forward",
                    ])
                    let answer = await post(port, "/v1/incidents/\(id)/amendments", token: admin, body: change.encoded())
                    if answer.status != 201 { load.failures.withLock { $0.append("amend \(id): \(answer.status.map(String.init) ?? "no answer")") } }
                    load.counts.withLock { $0.writes += 1 }
                }
            }
            group.addTask {
                while load.rotating.withLock({ $0 }) {
                    let id = sample.randomElement()!
                    let answer = await get(port, "/v1/incidents/\(id)?include=personal", token: admin, headers: personalRead)
                    let personal = answer.json?.objectValue?["incident"]?.objectValue?["personal"]
                    if answer.status != 200 || personal == nil || personal == .null {
                        load.failures.withLock {
                            $0.append("read \(id): \(answer.status.map(String.init) ?? "no answer") \(answer.json?.encodedString.prefix(200) ?? "")")
                        }
                    }
                    load.counts.withLock { $0.reads += 1 }
                }
            }
            group.addTask {
                let result = try? await rotation.value
                #expect(result?.status == 0, "\(result?.stderr ?? "the rotation did not end")")
                // A little load after the rotation ends, too.
                try? await Task.sleep(for: .seconds(1))
                load.rotating.withLock { $0 = false }
            }
        }
    }

    @Test("keys init never overwrites; serve refuses an external database without a master key, a key readable by others, and another database's key")
    func masterKeyRefusals() async throws {
        let scratch = FileManager.default.temporaryDirectory.path + "/incident-keys-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let key = scratch + "/master.key"
        let first = try await run(Binaries.incidentd, ["keys", "init", "--master-key-file", key], environment: [:])
        #expect(first.status == 0 && first.stdout.trimmingCharacters(in: .whitespacesAndNewlines).count == 16, "\(first.stderr)")
        let bytes = try Data(contentsOf: URL(fileURLWithPath: key))
        let attributes = try FileManager.default.attributesOfItem(atPath: key)
        #expect(bytes.count == 32 && (attributes[.posixPermissions] as? Int) == 0o600)
        let again = try await run(Binaries.incidentd, ["keys", "init", "--master-key-file", key], environment: [:])
        #expect(again.status == 73 && again.stderr.contains("never overwritten"), "\(again.status) \(again.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: key)) == bytes, "the key is untouched")

        let missing = try await run(Binaries.incidentd, ["serve", "--port", "1", "--database-url", "host=/nonexistent"], environment: [:], timeout: .seconds(60))
        #expect(missing.status == 64 && missing.stderr.contains("incidentd keys init"), "\(missing.status) \(missing.stderr)")

        let exposed = scratch + "/exposed.key"
        try bytes.write(to: URL(fileURLWithPath: exposed))
        chmod(exposed, 0o644)
        let loose = try await run(
            Binaries.incidentd, ["serve", "--port", "1", "--database-url", "host=/nonexistent", "--master-key-file", exposed], environment: [:], timeout: .seconds(60))
        #expect(loose.status != 0 && loose.stderr.contains("chmod 600"), "\(loose.status) \(loose.stderr)")

        // A test database is bound to the test process's key: another key is refused at start.
        try await TestDatabase.with { db in
            let wrong = try await run(
                Binaries.incidentd, ["serve", "--port", "1", "--database-url", db.conninfo, "--master-key-file", key], environment: [:], timeout: .seconds(60))
            #expect(wrong.status != 0 && wrong.stderr.contains("is not this database's"), "\(wrong.status) \(wrong.stderr)")
        }
    }
}

/// The header an admin's read of personal data carries.
let personalRead = ["X-Access-Reason": "check that the personal data opens"]
