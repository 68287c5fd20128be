import Crypto
import Foundation
import IncidentTesting
import Logging
import PostgresLibpq
import Testing

@testable import IncidentStore

/// A database as the release before the master key left it (migrations up to 0015): plain
/// per-incident keys in `personal_data_keys`, personal data sealed under them, free text in plain
/// (schema 1 events), one incident erased the old way. Written here exactly as that release wrote
/// it, then upgraded the way `serve` upgrades at start.
@Suite("Upgrade from plain keys and plain text")
struct LegacyUpgradeTests {
    @Test("a database of the release before is upgraded in place: everything reads as before, no plain key remains, the erased incident stays erased")
    func upgradeInPlace() async throws {
        try await TestDatabase.with(migrated: false) { db in
            let logger = Logger(label: "upgrade-test")
            try await Migrator(migrations: Array(Migration.all.prefix(15))).migrate(db.pool, logger: logger)
            let reference = try await ReferenceData.load(db.pool)
            let metadata = EventMetadata(principal: "reporter.old", role: "reporter", client: "ictl/0.1")
            let (incidents, amended, erased, oldFile) = try await Self.writeAsTheReleaseBefore(db, reference: reference, metadata: metadata)

            // The upgrade, as serve does it at start.
            try await Migrator().migrate(db.pool, logger: logger)
            let wrapped = try await db.pool.withConnection { connection in
                try connection.transaction { connection in
                    try TestKeys.ring.attach(on: connection, path: "(test)")
                    return try LegacyKeys.wrap(with: TestKeys.ring, on: connection)
                }
            }
            #expect(wrapped == 11)

            // No plain key remains: the table is gone, its file emptied or removed (no dead tuple
            // of it is left), and no key's bytes are anywhere in a dump.
            try await Self.noPlainKeyRemains(db, oldFile: oldFile, keys: incidents.map { ($0.id, $0.key) })

            // Everything reads as before: personal data, text, the amendment, the erasure.
            let service = IncidentService(pool: db.pool, reference: reference, keys: TestKeys.ring)
            let admin = Principal(name: "admin", role: .admin)
            for (index, incident) in incidents.enumerated() {
                let view = try await service.incident(incident.id, history: true, for: admin, personal: .init(by: .local, reason: "check the upgrade"))
                if incident.id == erased {
                    #expect(view.state.personalDataErased && view.personal == .null)
                } else {
                    #expect(view.personal?.encodedString.contains(incident.name) == true, "\(incident.id): \(String(describing: view.personal))")
                }
                #expect(view.state.record.summary == (incident.id == amended ? "Legacy summary, amended." : "Legacy summary \(index): an old man was beaten."))
            }
            // The read models take the old events as before (rebuilt from the log).
            try await Self.catchUpReadModels(db, reference: reference)
            let listed = try await service.list(IncidentFilter(), for: admin)
            #expect(listed.items.count == 12 && listed.items.contains { $0.state.record.summary == "Legacy summary, amended." })
            // The confidential one's row holds its text sealed, though its report is plain in the log;
            // a row an earlier release wrote in plain is sealed at start.
            try await Self.confidentialRowsAreSealed(db, service: service, reference: reference, confidential: incidents[3].id, admin: admin)
            // Redacted, an old incident's plain events read as redacted too.
            _ = try await service.redactNarrative(incidents[4].id, reason: "names a witness", replacement: [:], by: admin, metadata: metadata, audit: .local)
            let history = try await service.incident(incidents[4].id, history: true, for: admin)
            #expect(history.state.record.summary == NarrativeVault.redacted)
            #expect(!(history.events ?? []).contains { $0.data.encodedString.contains("an old man was beaten") }, "the plain report reads as redacted")
            // A new event on an old incident is sealed: the incident gets its narrative key now.
            _ = try await service.amend(
                amended, expectedVersion: 2, changes: ["killed": 1], reason: "the hospital's count of Legacy Witness 1",
                idempotencyKey: nil, by: admin, metadata: metadata)
            let log: String = try await db.pool.withConnection {
                try $0.query("SELECT data::text FROM events WHERE stream = $1 AND stream_version = 3", [IncidentEvent.streamName(for: amended)]).first!.decode(0)
            }
            #expect(!log.contains("hospital") && log.contains("narrative"), "\(log)")
            #expect(try await service.incident(amended, history: false, for: admin).state.record.killed == 1)
        }
    }

    /// Both read models brought up to the end of the log.
    private static func catchUpReadModels(_ db: TestDatabase, reference: ReferenceData) async throws {
        let projections: [any Projection] = [
            IncidentsProjection(regions: reference.regions, narrative: NarrativeVault(keys: TestKeys.ring)), RegionSummaryProjection(regions: reference.regions),
        ]
        try await catchUpFully(projections, db.pool)
    }

    /// Twelve incidents as that release wrote them (plain keys, plain text), one amended with a plain reason, one erased; returns them, the amended and erased ids, and the file of the plain key table.
    private static func writeAsTheReleaseBefore(
        _ db: TestDatabase, reference: ReferenceData, metadata: EventMetadata
    ) async throws -> (incidents: [(id: UUID, name: String, key: Data)], amended: UUID, erased: UUID, oldFile: String) {
        let context = ValidationContext(taxonomy: reference.taxonomy, regions: reference.regions)
        var incidents: [(id: UUID, name: String, key: Data)] = []
        for n in 0..<12 {
            let name = "Legacy Witness \(n) Hasani"
            let body: JSONValue = [
                "category": "ethnic_violence", "subcategory": "assault", "occurred_at": .string("2026-10-0\(1 + n % 9)"), "municipality": "Pejë",
                "summary": .string("Legacy summary \(n): an old man was beaten."), "source_type": "witness",
                "sensitivity": .string(n == 3 ? "confidential" : "restricted"), "personal": ["witnesses": [["name": .string(name)]]],
            ]
            let validated = try IncidentRecord.validateReport(body, context: context, defaultIncidentID: UUID())
            var record = validated.record
            // That release's sealing: AES-256-GCM under the raw key, the nonce an HMAC of the plaintext.
            let key = SymmetricKey(size: .bits256)
            let plaintext = validated.personal!.encoded()
            let nonce = try AES.GCM.Nonce(data: Data(HMAC<SHA256>.authenticationCode(for: plaintext, using: key).prefix(12)))
            let sealed = try AES.GCM.seal(plaintext, using: key, nonce: nonce).combined!
            record.personal = SealedPersonalData(algorithm: "AES-256-GCM", ciphertext: sealed.base64EncodedString())
            let keyBytes = key.withUnsafeBytes { Data($0) }
            try await db.pool.withConnection { [record] connection in
                try connection.query("INSERT INTO personal_data_keys (incident_id, data_key) VALUES ($1, decode($2, 'hex'))", [record.incidentID, keyBytes.hexString])
                _ = try EventStore.append(
                    [EventToAppend(eventID: UUID(), type: "IncidentReported", schemaVersion: 1, data: record.json, metadata: metadata)],
                    to: IncidentEvent.streamName(for: record.incidentID), expectedVersion: 0, on: connection)
            }
            incidents.append((record.incidentID, name, keyBytes))
        }
        // Amended with a plain reason, and one erased, as that release did.
        let amended = incidents[1].id, erased = incidents[2].id
        try await db.pool.withConnection { connection in
            _ = try EventStore.append(
                [
                    EventToAppend(
                        eventID: UUID(), type: "IncidentAmended", schemaVersion: 1,
                        data: ["changes": ["summary": "Legacy summary, amended."], "reason": "police report"], metadata: metadata)
                ],
                to: IncidentEvent.streamName(for: amended), expectedVersion: 1, on: connection)
            try connection.query("DELETE FROM personal_data_keys WHERE incident_id = $1", [erased])
            try connection.query("INSERT INTO personal_data_erasures (incident_id) VALUES ($1)", [erased])
            _ = try EventStore.append(
                [EventToAppend(eventID: UUID(), type: "PersonalDataErased", schemaVersion: 1, data: ["reason": "asked"], metadata: metadata)],
                to: IncidentEvent.streamName(for: erased), expectedVersion: 1, on: connection)
        }
        let oldFile: String = try await db.pool.withConnection { try $0.query("SELECT pg_relation_filepath('personal_data_keys')").first!.decode(0) }
        return (incidents, amended, erased, oldFile)
    }

    /// The table of plain keys is gone, its file emptied or removed, and no key is in a plain dump.
    private static func noPlainKeyRemains(_ db: TestDatabase, oldFile: String, keys: [(id: UUID, key: Data)]) async throws {
        let (table, fileSize, stored): (Bool, Int?, Int) = try await db.pool.withConnection { connection in
            try connection.execute("CHECKPOINT")
            return (
                try connection.query("SELECT to_regclass('personal_data_keys') IS NOT NULL").first!.decode(0),
                try connection.query("SELECT (pg_stat_file($1, true)).size", [oldFile]).first!.decodeIfPresent(0),
                try connection.query("SELECT count(*) FROM incident_keys WHERE purpose = 'personal'").first!.decode(0)
            )
        }
        #expect(!table && (fileSize ?? 0) == 0 && stored == 11, "table \(table), file \(oldFile) size \(String(describing: fileSize)), \(stored) wrapped")
        let dumpFile = FileManager.default.temporaryDirectory.path + "/incident-upgrade-\(UUID().uuidString.prefix(8)).sql"
        defer { try? FileManager.default.removeItem(atPath: dumpFile) }
        let pgDump = try LocalCluster(dataDirectory: "/nonexistent").tool("pg_dump")
        let dumped = try await onOwnThread { try runTool(pgDump, ["--format=plain", "--file", dumpFile, "--dbname", db.conninfo]) }
        #expect(dumped == 0)
        let dump = try Data(contentsOf: URL(fileURLWithPath: dumpFile))
        #expect(dump.count > 10_000)
        for incident in keys {
            #expect(dump.range(of: incident.key) == nil && dump.range(of: Data(incident.key.hexString.utf8)) == nil, "a plain key of \(incident.id) is in the dump")
        }
    }

    /// The confidential incident's row holds its text sealed; a row written in plain is sealed by sealPlainConfidentialRows.
    private static func confidentialRowsAreSealed(
        _ db: TestDatabase, service: IncidentService, reference: ReferenceData, confidential: UUID, admin: Principal
    ) async throws {
        let projection = IncidentsProjection(regions: reference.regions, narrative: NarrativeVault(keys: TestKeys.ring))
        func plainConfidentialRows() async throws -> Int {
            try await db.pool.withConnection { try $0.query("SELECT count(*) FROM incidents WHERE sensitivity = 'confidential' AND record ? 'summary'").first!.decode(0) }
        }
        #expect(try await plainConfidentialRows() == 0)
        _ = try await db.pool.withConnection { connection in
            try connection.query(
                "UPDATE incidents SET record = (record - 'narrative') || jsonb_build_object('summary', 'Legacy summary 3: an old man was beaten.') WHERE incident_id = $1",
                [confidential])
        }
        #expect(try await plainConfidentialRows() == 1)
        #expect(try await db.pool.withConnection { try projection.sealPlainConfidentialRows(on: $0) } == 1)
        #expect(try await plainConfidentialRows() == 0)
        #expect(try await service.list(IncidentFilter(), for: admin).items.contains { $0.state.record.summary == "Legacy summary 3: an old man was beaten." })
    }
}

/// Runs a tool to its end; its exit status.
private func runTool(_ path: String, _ arguments: [String]) throws -> Int32 {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    return process.terminationStatus
}
