import Foundation
import PostgresLibpq

/// The reads of the log that other parts of the store need beyond the event store's own pages:
/// each is a question about `events`, asked here so that the log has one owner.
public enum LogReads {
    /// An event that revised an incident, with what the digest shows of the incident.
    struct Revision {
        var incidentID: UUID
        var type: String
        var recordedAt: Date
        var occurredDay: String
        var municipality: String
        var category: String
        /// The event's data as stored (free text still sealed).
        var data: JSONValue
    }

    /// Amendments, decisions and retractions recorded in `interval` of incidents that occurred
    /// before `day` and are not confidential, nor were when the event was recorded.
    static func revisions(recordedIn interval: (start: Date, end: Date), occurredBefore day: String, on connection: PostgresConnection) throws -> [Revision] {
        try connection.query(
            """
            SELECT i.incident_id, e.type, e.recorded_at, i.occurred_day::text AS day, i.municipality, i.category, e.data::text AS data_text
            FROM events e JOIN incidents i ON e.stream = \(IncidentEvent.streamName(forColumn: "i.incident_id"))
            WHERE e.recorded_at >= $1 AND e.recorded_at < $2
              AND e.type IN ('IncidentAmended', 'IncidentVerified', 'IncidentRejected', 'IncidentRetracted')
              AND i.occurred_day < $3::date AND i.sensitivity <> 'confidential' AND
            """ + " " + notConfidentialAtEvent + " ORDER BY e.recorded_at, e.global_position", [interval.start, interval.end, day]
        ).rows.map { row in
            Revision(
                incidentID: try row.decode(0), type: try row.decode(1), recordedAt: try row.decode(2), occurredDay: try row.decode(3),
                municipality: try row.decode(4), category: try row.decode(5), data: try JSONValue.parse(Data(try row.decode(6, as: String.self).utf8))
            )
        }
    }

    /// A condition on an event `e` of an incident stream: the incident was not confidential when
    /// it was recorded (the last sensitivity its stream set up to `e` is another). What a digest
    /// tells of an incident's past, it tells only from its non-confidential time.
    static let notConfidentialAtEvent = """
        coalesce((SELECT coalesce(c.data->'changes'->>'sensitivity', c.data->>'sensitivity') FROM events c
                  WHERE c.stream = e.stream AND c.stream_version <= e.stream_version
                    AND (c.type = 'IncidentReported' OR (c.type = 'IncidentAmended' AND c.data->'changes' ? 'sensitivity'))
                  ORDER BY c.stream_version DESC LIMIT 1), '') <> 'confidential'
        """

    /// Of `streams`, those of incidents that were confidential at some time.
    static func streamsEverConfidential(_ streams: [String], on connection: PostgresConnection) throws -> Set<String> {
        guard !streams.isEmpty else { return [] }
        return Set(
            try connection.query(
                """
                SELECT DISTINCT stream FROM events
                WHERE stream = ANY($1::text[])
                  AND (data->>'sensitivity' = 'confidential' OR data->'changes'->>'sensitivity' = 'confidential')
                """, [postgresArray(streams)]
            ).rows.map { try $0.decode(0, as: String.self) })
    }

    /// Of `streams`, the version of each one's first `NarrativeRedacted`, where it has one.
    static func firstRedactions(of streams: [String], on connection: PostgresConnection) throws -> [String: Int] {
        var redactedFrom: [String: Int] = [:]
        for row in try connection.query(
            """
            SELECT stream, min(stream_version) FROM events WHERE stream = ANY($1::text[]) AND type = 'NarrativeRedacted' GROUP BY stream
            """, [postgresArray(streams)]
        ).rows {
            redactedFrom[try row.decode(0)] = try row.decode(1)
        }
        return redactedFrom
    }

    /// Every redaction of free text in the log, oldest first: the incident, when, and the
    /// generation of the key it destroyed.
    static func redactions(on connection: PostgresConnection) throws -> [(incidentID: UUID, at: Date, generation: Int)] {
        try connection.query(
            """
            SELECT \(IncidentEvent.incidentIDText(fromStreamColumn: "stream"))::uuid, recorded_at, (data->>'generation')::int - 1 FROM events
            WHERE type = 'NarrativeRedacted' ORDER BY global_position
            """
        ).rows.map { row in (try row.decode(0), try row.decode(1), try row.decode(2)) }
    }

    /// How many events the log holds.
    public static func count(on connection: PostgresConnection) throws -> Int {
        try connection.query("SELECT count(*) FROM events").first!.decode(0)
    }

    /// The newest transaction id in the log or in a checkpoint (0 when there is none): a cluster
    /// the log is restored into must count past it, or commit-safe reads would skip what follows.
    public static func highestTransactionID(on connection: PostgresConnection) throws -> UInt64 {
        try connection.query(
            """
            SELECT greatest((SELECT max(transaction_id) FROM events), (SELECT max(transaction_id) FROM projection_checkpoints), '0'::xid8)::text
            """
        ).first!.decode(0)
    }

    /// The names of the streams whose name starts with `prefix`.
    public static func streams(named prefix: String, on connection: PostgresConnection) throws -> [String] {
        try connection.query("SELECT DISTINCT stream FROM events WHERE starts_with(stream, $1)", [prefix]).rows.map { try $0.decode(0, as: String.self) }
    }

    /// A boundary: every transaction below it has ended.
    static func boundary(on connection: PostgresConnection) throws -> UInt64 {
        try connection.query("SELECT pg_snapshot_xmin(pg_current_snapshot())::text").first!.decode(0)
    }

    /// The last event below `boundary` in commit-safe order; nil when there is none. The text
    /// column has an alias of its own: `ORDER BY transaction_id` would otherwise sort the text,
    /// and put transaction 9 after transaction 10.
    static func lastEvent(before boundary: UInt64, on connection: PostgresConnection) throws -> Checkpoint? {
        try connection.query(
            """
            SELECT transaction_id::text AS txid, global_position FROM events
            WHERE transaction_id < $1::xid8 ORDER BY transaction_id DESC, global_position DESC LIMIT 1
            """, [boundary]
        ).first.map(Checkpoint.init(row:))
    }

    /// The place of "now" in commit-safe order: after the last event of every transaction older
    /// than all that still run. Events of those still running come after it, so none is skipped.
    static func head(on connection: PostgresConnection) throws -> Checkpoint {
        try lastEvent(before: boundary(on: connection), on: connection) ?? .start
    }

    /// Events committed after `checkpoint` (a reader's lag).
    static func count(after checkpoint: Checkpoint, on connection: PostgresConnection) throws -> Int {
        try connection.query(
            "SELECT count(*) FROM events e WHERE (e.transaction_id, e.global_position) > ($1::xid8, $2::bigint)",
            [checkpoint.transactionID, checkpoint.position]
        ).first?.decode(0) ?? 0
    }

    /// Two columns for a query that has a checkpoint `c` (columns `transaction_id`,
    /// `global_position`): `before_unapplied`, the position before the first event after it, and
    /// `highest`, the log's last position. The unapplied events are a range of the commit-order
    /// index: read that range (OFFSET 0 keeps it a range scan; a plain min() would walk the
    /// primary key through the whole log).
    static let positionsAfterCheckpoint = """
        (SELECT min(u.global_position) - 1 FROM (
             SELECT e.global_position FROM events e
             WHERE (e.transaction_id, e.global_position) > (c.transaction_id, c.global_position) OFFSET 0) AS u) AS before_unapplied,
        (SELECT coalesce(max(e.global_position), 0) FROM events e) AS highest
        """
}
