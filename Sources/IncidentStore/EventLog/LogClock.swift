import PostgresLibpq

/// The log's order rests on the cluster's transaction ids (docs/architecture.md, Concurrency rules): each event stores its
/// writer's id and readers take only what lies below the oldest one still running. A log restored
/// from a dump into a new cluster holds ids the new cluster has not reached yet; events appended
/// there would sort before the restored ones, behind every checkpoint, and never be read.
public enum LogClock {
    public struct AheadOfCluster: Error, CustomStringConvertible {
        public let highestInLog: UInt64
        public let clusterNext: UInt64

        public var description: String {
            "the event log holds transaction id \(highestInLog), ahead of this PostgreSQL cluster's counter (\(clusterNext)): "
                + "it was restored into a new cluster without moving the counter, and events appended now would never be read. "
                + "Restore with `incidentd restore`, or move the counter as docs/operations.md (Backups) describes."
        }
    }

    /// Throws ``AheadOfCluster`` when the log holds transaction ids the cluster has not reached.
    public static func check(on connection: PostgresConnection) throws {
        let row = try connection.query(
            """
            SELECT coalesce((SELECT max(transaction_id) FROM events), '0')::text,
                   pg_snapshot_xmax(pg_current_snapshot())::text
            """
        ).first!
        let (highest, next) = (try row.decode(0, as: UInt64.self), try row.decode(1, as: UInt64.self))
        guard highest < next else { throw AheadOfCluster(highestInLog: highest, clusterNext: next) }
    }
}
