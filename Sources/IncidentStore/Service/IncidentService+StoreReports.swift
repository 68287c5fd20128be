import Foundation
import PostgresLibpq

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
    /// The common case — a new incident, its free text and personal data under new keys of its own —
    /// is one statement for the whole group: the new keys are inserted where the incident has none
    /// yet (and, for personal data, no erasure), and the events of exactly the lines whose keys went
    /// in are inserted where neither the event id nor the incident's stream exists yet. Every
    /// other line — a retry, an incident reported twice, an erased one, the second line of one
    /// incident in the same group — then goes the careful way of ``store(_:eventID:metadata:vault:on:)``,
    /// which answers replays and conflicts.
    /// - Throws: only when the group statement fails (the caller rolls the group back).
    static func store(
        _ lines: [ReportLine], vault: PersonalDataVault, narrative: NarrativeVault, on connection: PostgresConnection
    ) throws -> [Result<WriteOutcome, any Error>] {
        var rows: [JSONValue] = []
        var fast: [UUID: (line: Int, incidentID: UUID)] = [:]
        var incidents = Set<UUID>()
        for (index, line) in lines.enumerated() {
            var record = line.validated.record
            guard incidents.insert(record.incidentID).inserted, fast[line.eventID] == nil else { continue }
            // Both keys under one master key, which the row names (a rotation may switch it meanwhile).
            let master = vault.keys.ring.current
            var personalKey: JSONValue = .null
            if let personal = line.validated.personal {
                let (sealed, wrapped) = try vault.sealWithNewKey(personal, incidentID: record.incidentID, under: master)
                record.personal = sealed
                personalKey = .string(wrapped.bytes.hexString)
            }
            let (key, narrativeKey) = try narrative.freshKey(of: record.incidentID, under: master)
            let event = try IncidentEvent.reported(record).toAppend(eventID: line.eventID, metadata: line.metadata, narrative: key)
            rows.append(.object([
                "n": .number(Double(index)),
                "event_id": .string(line.eventID.lowercasedText),
                "incident_id": .string(record.incidentID.lowercasedText),
                "stream": .string(IncidentEvent.streamName(for: record.incidentID)),
                "master_key_id": .string(narrativeKey.masterKeyID),
                "narrative_key": .string(narrativeKey.bytes.hexString),
                "personal_key": personalKey,
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
            // would be a large part of a report's time in the server.
            let stored = try connection.queryWithGenericPlan("""
                WITH line AS (
                    SELECT * FROM jsonb_to_recordset($1::jsonb) AS l(n int, event_id uuid, incident_id uuid, stream text,
                        master_key_id text, narrative_key text, personal_key text, type text, schema_version int, data jsonb, metadata jsonb)
                ), master_key AS (
                    -- Share-locked: a rotation's switch of master key waits for this write (KeyRing).
                    SELECT current_key_id FROM master_key_state FOR SHARE
                ), new_key AS (
                    INSERT INTO incident_keys (incident_id, purpose, master_key_id, wrapped_key)
                    SELECT l.incident_id, k.purpose, l.master_key_id, decode(k.wrapped, 'hex')
                    FROM line l CROSS JOIN LATERAL (VALUES ('narrative', l.narrative_key), ('personal', l.personal_key)) AS k(purpose, wrapped)
                    WHERE k.wrapped IS NOT NULL
                      AND l.master_key_id = coalesce((SELECT current_key_id FROM master_key), l.master_key_id)
                      AND (k.purpose = 'narrative' OR NOT EXISTS (SELECT 1 FROM personal_data_erasures x WHERE x.incident_id = l.incident_id))
                    ON CONFLICT DO NOTHING
                    RETURNING incident_id, purpose
                )
                -- Only events whose keys were stored here: the data is sealed under exactly those.
                INSERT INTO events (event_id, stream, stream_version, type, schema_version, data, metadata)
                SELECT event_id, stream, 1, type, schema_version, data, metadata FROM line
                WHERE incident_id IN (SELECT incident_id FROM new_key WHERE purpose = 'narrative')
                  AND (personal_key IS NULL OR incident_id IN (SELECT incident_id FROM new_key WHERE purpose = 'personal'))
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
                try store(line.validated, eventID: line.eventID, metadata: line.metadata, vault: vault, narrative: narrative, on: connection)
            }
        }
        return answers.map { $0! }
    }
}
