import Foundation

/// A validated report on its way to the log, with its event id (the idempotency key) and the
/// metadata of the request that sent it.
struct ReportLine: Sendable {
    var validated: ValidatedReport
    var eventID: UUID
    var metadata: EventMetadata
}

extension IncidentService {
    /// Stores reports, each answered on its own, in as few statements as the common case allows.
    ///
    /// The common case — a new incident, its personal data under a key of its own — is one
    /// statement for the whole group: the new keys are inserted where the incident has neither a key
    /// nor an erasure, and the events of exactly those lines (and of the lines without personal
    /// data) are inserted where neither the event id nor the incident's stream exists yet. Every
    /// other line — a retry, an incident reported twice, an erased one, the second line of one
    /// incident in the same group — then goes the careful way of ``store(_:eventID:metadata:vault:on:)``,
    /// which answers replays and conflicts.
    /// - Throws: only when the group statement fails (the caller rolls the group back).
    static func store(_ lines: [ReportLine], vault: PersonalDataVault, on connection: PostgresConnection) throws -> [Result<WriteOutcome, any Error>] {
        var rows: [JSONValue] = []
        var fast: [UUID: (line: Int, incidentID: UUID)] = [:]
        var incidents = Set<UUID>()
        for (index, line) in lines.enumerated() {
            var record = line.validated.record
            guard incidents.insert(record.incidentID).inserted, fast[line.eventID] == nil else { continue }
            var wrappedKey: JSONValue = .null
            var masterKeyID: JSONValue = .null
            if let personal = line.validated.personal {
                let (sealed, wrapped) = try vault.sealWithNewKey(personal, incidentID: record.incidentID)
                record.personal = sealed
                wrappedKey = .string(wrapped.bytes.hexString)
                masterKeyID = .string(wrapped.masterKeyID)
            }
            let event = try IncidentEvent.reported(record).toAppend(eventID: line.eventID, metadata: line.metadata)
            rows.append(.object([
                "n": .number(Double(index)),
                "event_id": .string(line.eventID.uuidString.lowercased()),
                "incident_id": .string(record.incidentID.uuidString.lowercased()),
                "stream": .string(IncidentEvent.streamName(for: record.incidentID)),
                "master_key_id": masterKeyID,
                "wrapped_key": wrappedKey,
                "type": .string(event.type),
                "schema_version": .number(Double(event.schemaVersion)),
                "data": event.data,
                "metadata": event.metadata.json,
            ]))
            fast[line.eventID] = (index, record.incidentID)
        }
        var answers = [Result<WriteOutcome, any Error>?](repeating: nil, count: lines.count)
        if !rows.isEmpty {
            // Planned once: its plan cannot depend on the values, and planning it on every call
            // was a sixth of a report's time in the server.
            let stored = try connection.queryWithGenericPlan("""
                WITH line AS (
                    SELECT * FROM jsonb_to_recordset($1::jsonb) AS l(n int, event_id uuid, incident_id uuid, stream text,
                        master_key_id text, wrapped_key text, type text, schema_version int, data jsonb, metadata jsonb)
                ), master_key AS (
                    -- Share-locked: a rotation's switch of master key waits for this write (KeyRing).
                    SELECT current_key_id FROM master_key_state FOR SHARE
                ), new_key AS (
                    INSERT INTO incident_keys (incident_id, purpose, master_key_id, wrapped_key)
                    SELECT incident_id, 'personal', master_key_id, decode(wrapped_key, 'hex') FROM line
                    WHERE wrapped_key IS NOT NULL
                      AND master_key_id = coalesce((SELECT current_key_id FROM master_key), master_key_id)
                      AND NOT EXISTS (SELECT 1 FROM personal_data_erasures x WHERE x.incident_id = line.incident_id)
                    ON CONFLICT DO NOTHING
                    RETURNING incident_id
                )
                INSERT INTO events (event_id, stream, stream_version, type, schema_version, data, metadata)
                SELECT event_id, stream, 1, type, schema_version, data, metadata FROM line
                WHERE wrapped_key IS NULL OR incident_id IN (SELECT incident_id FROM new_key)
                ORDER BY n
                ON CONFLICT DO NOTHING
                RETURNING event_id, stream_version, global_position, recorded_at
                """, [JSONValue.array(rows).encodedString])
            for row in stored.rows {
                let eventID: UUID = try row.decode(0)
                guard let (index, incidentID) = fast[eventID] else { continue }
                answers[index] = .success(WriteOutcome(
                    incidentID: incidentID, eventID: eventID, streamVersion: try row.decode(1),
                    globalPosition: try row.decode(2), recordedAt: try row.decode(3), replayed: false
                ))
            }
        }
        for (index, line) in lines.enumerated() where answers[index] == nil {
            answers[index] = Result {
                try store(line.validated, eventID: line.eventID, metadata: line.metadata, vault: vault, on: connection)
            }
        }
        return answers.map { $0! }
    }
}
