import Foundation
import PostgresLibpq

extension EventStore {
    /// The first event of a stream not yet in the log, with the keys its data is sealed under
    /// (wrapped under the master key `masterKeyID`).
    struct NewStream {
        var event: EventToAppend
        var stream: String
        var incidentID: UUID
        var masterKeyID: String
        var narrativeKey: Data
        /// Only when the event carries personal data.
        var personalKey: Data?
    }

    /// Opens many streams in one statement, the common case of a group of new reports: the keys
    /// are inserted where the incident has none yet (and, for personal data, no erasure) and the
    /// master key is still the current one, and the events of exactly the streams whose keys went
    /// in are inserted where neither the event id nor the stream exists yet. What is left out
    /// (a retry, a stream that exists, an erased incident, a master key switched meanwhile) is
    /// for the caller to append the careful way, which answers replays and conflicts.
    /// - Returns: the events stored, in no particular order.
    static func open(_ streams: [NewStream], on connection: PostgresConnection) throws -> [AppendResult] {
        guard !streams.isEmpty else { return [] }
        let rows = JSONValue.array(
            streams.enumerated().map { n, new in
                .object([
                    "n": .number(Double(n)),
                    "event_id": .string(new.event.eventID.lowercasedText),
                    "incident_id": .string(new.incidentID.lowercasedText),
                    "stream": .string(new.stream),
                    "master_key_id": .string(new.masterKeyID),
                    "narrative_key": .string(new.narrativeKey.hexString),
                    "personal_key": new.personalKey.map { .string($0.hexString) } ?? .null,
                    "type": .string(new.event.type),
                    "schema_version": .number(Double(new.event.schemaVersion)),
                    "data": new.event.data,
                    "metadata": new.event.metadata.json,
                ])
            })
        // Planned once: its plan cannot depend on the values, and planning it on every call
        // would be a large part of a report's time in the server.
        return try connection.queryWithGenericPlan(
            """
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
            """, [rows.encodedString]
        ).rows.map { row in
            AppendResult(
                eventID: try row.decode(0), streamVersion: try row.decode(1), globalPosition: try row.decode(2),
                recordedAt: try row.decode(3), replayed: false)
        }
    }
}
