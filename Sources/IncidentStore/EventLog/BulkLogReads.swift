import Foundation
import PostgresLibpq

/// The log as a rebuild's bulk load reads it (``ProjectionRebuild/bulk(_:on:alongside:rangeSize:progress:)``):
/// below a boundary every transaction has ended, so what is there is final.
enum BulkLogReads {
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
