import Foundation
import Logging

/// Rebuilds a projection from position 0 without downtime (PRODUCT.md §4.5).
///
/// 1. ``start(_:on:)`` takes the projection's rebuild lock (one rebuild at a time, released if the
///    rebuilding process dies), empties the shadow tables and sets their checkpoint to the start.
/// 2. ``step(_:on:limit:)`` replays the log into the shadows in short transactions (a long
///    writing transaction would hold back every gapless reader); reads keep using the live tables.
/// 3. ``swap(_:on:)``, in one transaction: locks the live checkpoint (the projector waits), applies
///    what was written meanwhile to the shadows, renames shadows and live tables into each other's
///    place and hands the shadow checkpoint to the live projection. Readers see the old tables or
///    the new ones, never a mix.
public enum ProjectionRebuild {
    public enum Failure: Error, CustomStringConvertible {
        case alreadyRunning(String)

        public var description: String {
            switch self {
            case .alreadyRunning(let name): "a rebuild of \(name) is already running"
            }
        }
    }

    /// Takes the rebuild lock and resets the shadows. The lock belongs to the connection's session.
    /// - Throws: ``Failure/alreadyRunning(_:)`` when another session is rebuilding this projection.
    public static func start(_ projection: some Projection, on connection: PostgresConnection) throws {
        // Session locks nest: a session that holds the lock already is running a rebuild too.
        guard try !isRunning(projection, on: connection),
              try connection.query(
                  "SELECT pg_try_advisory_lock($1::int, $2::int)", [Int(AdvisoryLock.namespace), Int(AdvisoryLock.rebuild(projection.name))]
              ).first?.decode(0) ?? false
        else { throw Failure.alreadyRunning(projection.name) }
        do {
            try connection.transaction { connection in
                let shadows = ProjectionTables(target: .shadow)
                try connection.execute("TRUNCATE " + projection.tables.map { shadows($0) }.joined(separator: ", "))
                try connection.query("""
                    INSERT INTO projection_checkpoints (name) VALUES ($1)
                    ON CONFLICT (name) DO UPDATE SET transaction_id = '0', global_position = 0, updated_at = now()
                    """, [projection.checkpointName(.shadow)])
            }
        } catch {
            try? finish(projection, on: connection)
            throw error
        }
    }

    /// Applies the next batch of the log to the shadows, in its own transaction.
    /// - Returns: how many events were applied (0 when the shadows are current).
    public static func step(_ projection: some Projection, on connection: PostgresConnection, limit: Int = 2000) throws -> Int {
        try connection.transaction { try projection.applyNextBatch(.shadow, limit: limit, on: $0) }
    }

    /// Swaps the caught-up shadows in, then empties the old tables and releases the lock.
    /// - Returns: the events applied inside the swap (written while the rebuild ran).
    @discardableResult
    public static func swap(_ projection: some Projection, on connection: PostgresConnection) throws -> Int {
        defer { try? finish(projection, on: connection) }
        let shadows = ProjectionTables(target: .shadow)
        // Fresh statistics, so the first queries on the swapped-in tables plan well.
        try connection.execute("ANALYZE " + projection.tables.map { shadows($0) }.joined(separator: ", "))
        var attempt = 1
        while true {
            do {
                let applied = try swapOnce(projection, on: connection)
                try connection.execute("TRUNCATE " + projection.tables.map { shadows($0) }.joined(separator: ", "))
                return applied
            } catch let error as DatabaseError where error.sqlState == "55P03" && attempt < 3 {
                // A long reader held the tables past lock_timeout: the replay is kept; try the swap again.
                attempt += 1
            }
        }
    }

    private static func swapOnce(_ projection: some Projection, on connection: PostgresConnection) throws -> Int {
        try connection.transaction { connection -> Int in
            // Readers wait for the renames; bounded, so a stuck reader fails the swap rather than the service.
            try connection.execute("SET LOCAL lock_timeout = '10s'")
            try connection.query("INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT DO NOTHING", [projection.name])
            try connection.query("SELECT 1 FROM projection_checkpoints WHERE name = $1 FOR UPDATE", [projection.name])
            var applied = 0
            while true {
                let count = try projection.applyNextBatch(.shadow, limit: 2000, on: connection)
                applied += count
                if count == 0 { break }
            }
            for table in projection.tables {
                try connection.query("SELECT swap_read_model($1)", [table])
            }
            try connection.query("""
                UPDATE projection_checkpoints AS live
                SET transaction_id = shadow.transaction_id, global_position = shadow.global_position,
                    updated_at = now(), rebuilt_at = now()
                FROM projection_checkpoints AS shadow
                WHERE live.name = $1 AND shadow.name = $2
                """, [projection.name, projection.checkpointName(.shadow)])
            try connection.query("DELETE FROM projection_checkpoints WHERE name = $1", [projection.checkpointName(.shadow)])
            return applied
        }
    }

    /// Releases the rebuild lock (also released when the session ends).
    static func finish(_ projection: some Projection, on connection: PostgresConnection) throws {
        try connection.query(
            "SELECT pg_advisory_unlock($1::int, $2::int)", [Int(AdvisoryLock.namespace), Int(AdvisoryLock.rebuild(projection.name))]
        )
    }

    /// A full rebuild on one connection: start, replay, swap. `progress` gets the events replayed so far.
    public static func run(
        _ projection: some Projection, on connection: PostgresConnection, progress: (Int) -> Void = { _ in }
    ) throws {
        try start(projection, on: connection)
        var replayed = 0
        do {
            while true {
                let count = try step(projection, on: connection)
                if count == 0 { break }
                replayed += count
                progress(replayed)
            }
        } catch {
            try? finish(projection, on: connection)
            throw error
        }
        replayed += try swap(projection, on: connection)
        progress(replayed)
    }

    /// Whether some session is rebuilding `projection` now.
    public static func isRunning(_ projection: some Projection, on connection: PostgresConnection) throws -> Bool {
        try connection.query("""
            SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::oid AND objid = $2::oid AND objsubid = 2
                           AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database()))
            """, [Int(UInt32(bitPattern: AdvisoryLock.namespace)), Int(UInt32(bitPattern: AdvisoryLock.rebuild(projection.name)))]
        ).first?.decode(0) ?? false
    }
}

extension ProjectionRebuild {
    public struct Status: Sendable {
        public var running: Bool
        /// How far the running rebuild's shadows are (a global position).
        public var shadowPosition: Int64?
        public var rebuiltAt: Date?
    }

    public static func status(_ projection: some Projection, on connection: PostgresConnection) throws -> Status {
        let running = try isRunning(projection, on: connection)
        let row = try connection.query("""
            SELECT (SELECT global_position FROM projection_checkpoints WHERE name = $1),
                   (SELECT rebuilt_at FROM projection_checkpoints WHERE name = $2)
            """, [projection.checkpointName(.shadow), projection.name]).first
        return Status(running: running, shadowPosition: try row?.decodeIfPresent(0), rebuiltAt: try row?.decodeIfPresent(1))
    }
}
