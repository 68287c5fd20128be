import Foundation
import PostgresLibpq

/// The log as a rebuild's bulk load reads it (``ProjectionRebuild/bulk(_:on:alongside:rangeSize:progress:)``):
/// below a boundary every transaction has ended, so what is there is final.
enum BulkLogReads {
    /// A boundary: every transaction below it has ended.
    static func boundary(on connection: PostgresConnection) throws -> UInt64 {
        try connection.query("SELECT pg_snapshot_xmin(pg_current_snapshot())::text").first!.decode(0)
    }

    /// The last event below `boundary` in commit-safe order; nil when there is none.
    static func lastEvent(before boundary: UInt64, on connection: PostgresConnection) throws -> Checkpoint? {
        try connection.query(
            """
            SELECT transaction_id::text AS txid, global_position FROM events
            WHERE transaction_id < $1::xid8 ORDER BY transaction_id DESC, global_position DESC LIMIT 1
            """, [boundary]
        ).first.map(Checkpoint.init(row:))
    }

    /// The log's highest global position (0 when it is empty).
    static func highestPosition(on connection: PostgresConnection) throws -> Int64 {
        try connection.query("SELECT coalesce(max(global_position), 0) FROM events").first!.decode(0)
    }

    /// The incident streams with events below `boundary` other than their opening report.
    static func streamsBeyondTheirReport(before boundary: UInt64, on connection: PostgresConnection) throws -> [String] {
        try connection.query(
            """
            SELECT DISTINCT e.stream FROM events e
            WHERE e.transaction_id < $1::xid8 AND e.stream LIKE '\(IncidentEvent.streamPrefix)%' AND NOT (\(OpeningReports.predicate))
            """, [boundary]
        ).rows.map { try $0.decode(0) }
    }

    /// The events of `streams` below `boundary` but their opening reports, stream by stream, oldest first.
    static func eventsBeyondTheirReport(of streams: [String], before boundary: UInt64, on connection: PostgresConnection) throws -> [RecordedEvent] {
        try connection.query(
            "SELECT " + EventStore.columns + """
                 FROM events e WHERE e.stream = ANY($1::text[]) AND e.transaction_id < $2::xid8
                  AND NOT (\(OpeningReports.predicate))
                ORDER BY e.stream, e.stream_version
                """, [postgresArray(streams), boundary]
        ).rows.map(RecordedEvent.init(row:))
    }
}
