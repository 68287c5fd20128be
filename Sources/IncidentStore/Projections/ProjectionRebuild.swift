import Foundation
import Logging
import PostgresLibpq
import Synchronization

/// Rebuilds a projection from position 0 without downtime (docs/operations.md, Rebuilding a read model).
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

    /// Takes the rebuild lock and resets the shadows, in one transaction with the rebuild's audit
    /// record (``AccessAudit``). The lock belongs to the connection's session.
    /// - Parameter actor: who asked for the rebuild (by default the local user).
    /// - Throws: ``Failure/alreadyRunning(_:)`` when another session is rebuilding this projection;
    ///   ``AccessAuditError`` when the audit record cannot be written (nothing was reset).
    public static func start(_ projection: some Projection, by actor: AccessAudit.Actor = .local, on connection: PostgresConnection) throws {
        // Session locks nest: a session that holds the lock already is running a rebuild too.
        guard try !isRunning(projection, on: connection, inThisSession: true), try lock(projection, on: connection) else {
            throw Failure.alreadyRunning(projection.name)
        }
        do {
            try connection.transaction { connection in
                let shadows = ProjectionTables(target: .shadow)
                try connection.execute("TRUNCATE " + projection.tables.map { shadows($0) }.joined(separator: ", "))
                try connection.query(
                    """
                    INSERT INTO projection_checkpoints (name) VALUES ($1)
                    ON CONFLICT (name) DO UPDATE SET transaction_id = '0', global_position = 0, updated_at = now()
                    """, [projection.checkpointName(.shadow)])
                try AccessAudit.record(.init(.projectionRebuild, by: actor, target: projection.name), on: connection)
            }
        } catch {
            try? finish(projection, on: connection)
            throw error
        }
    }

    /// Takes the rebuild lock. A rebuild that has swapped its tables in (its shadow checkpoint is
    /// gone) and is only emptying the old ones is waited for, up to 15 s, looking again every
    /// 100 ms: `ictl admin rebuild` returns at the swap, and the same rebuild asked for again right
    /// after is not refused. A holder whose shadow checkpoint is there (a rebuild running, or one
    /// that has just taken the lock and committed it) is refused at once.
    /// - Returns: false when another rebuild holds the lock.
    private static func lock(_ projection: some Projection, on connection: PostgresConnection) throws -> Bool {
        let key: [(any PostgresEncodable)?] = [Int(AdvisoryLock.namespace), Int(AdvisoryLock.rebuild(projection.name))]
        let deadline = ContinuousClock.now + .seconds(15)
        while true {
            if try connection.query("SELECT pg_try_advisory_lock($1::int, $2::int)", key).first?.decode(0) ?? false { return true }
            let cleaningUp: Bool =
                try connection.query(
                    "SELECT NOT EXISTS (SELECT 1 FROM projection_checkpoints WHERE name = $1)", [projection.checkpointName(.shadow)]
                ).first?.decode(0) ?? false
            guard cleaningUp, ContinuousClock.now < deadline else { return false }
            Thread.sleep(forTimeInterval: 0.1)
        }
    }

    /// Global positions per range of a bulk load: fifty ranges a million events, so that two
    /// writers finish close together, and one opens sealed text while the other's insert runs.
    public static let rangeSize: Int64 = 20_000

    /// Writes most of the log into fresh shadows in bulk; call it after ``start(_:on:)`` and before
    /// ``step(_:on:limit:)``. Returns how many events it covered (0 when the shadows are not fresh).
    ///
    /// It takes a boundary first: every transaction below it has ended, so the events below it
    /// are final. Incidents that are one report there are written by one INSERT ... SELECT per
    /// range of the log, into shadows without indexes (not even their primary keys: a range holds
    /// each incident once); the keys are built next, then the events after the reports (and any
    /// stream not opened by one) go through the projection's own fold, which folds them into the
    /// rows the reports made, and the other indexes are built once at the end. The shadow
    /// checkpoint becomes the last event below the boundary, so the steps replay exactly what
    /// came after. Each range, and each index build, is its own transaction, so gapless readers
    /// (the live projector among them) are held back for one of them at most: seconds, at a
    /// million events.
    ///
    /// - Parameters:
    ///   - alongside: a second connection (the caller's to open and close): half of the ranges
    ///     are written on it, at the same time, on a thread of its own.
    ///   - rangeSize: global positions per range (tests make it small to have many).
    @discardableResult
    public static func bulk(
        _ projection: some Projection, on connection: PostgresConnection, alongside helper: PostgresConnection? = nil,
        rangeSize: Int64 = ProjectionRebuild.rangeSize, progress: @Sendable (Int) -> Void = { _ in }
    ) throws -> Int {
        let shadows = ProjectionTables(target: .shadow)
        // Nothing to load: the shadows get back any index a load that died left stashed, as the
        // steps upsert by their keys.
        guard try projection.checkpoint(.shadow, on: connection) == .start else {
            try restoreIndexes(projection, on: connection)
            return 0
        }
        let boundary = try LogReads.boundary(on: connection)
        guard let last = try LogReads.lastEvent(before: boundary, on: connection) else {
            try restoreIndexes(projection, on: connection)
            return 0
        }
        let highest = try BulkLogReads.highestPosition(on: connection)

        for table in projection.tables { try connection.query("SELECT shadow_indexes_drop($1)", [shadows(table)]) }
        let ranges = stride(from: Int64(1), through: highest, by: Int(rangeSize)).map { $0...min(highest, $0 + rangeSize - 1) }
        var covered = try loadRanges(ranges, of: projection, before: boundary, on: [connection] + (helper.map { [$0] } ?? []), progress: progress)
        // The fold upserts by the primary keys: they come back first.
        try restoreIndexes(projection, keysOnly: true, on: connection)
        // Incidents with more than a report (and anything else in an incident stream): what the
        // ranges did not load goes through the fold, onto the rows the ranges made.
        let streams = try BulkLogReads.streamsBeyondTheirReport(before: boundary, on: connection)
        for first in stride(from: 0, to: streams.count, by: 500) {
            let events = try BulkLogReads.eventsBeyondTheirReport(of: Array(streams[first..<min(streams.count, first + 500)]), before: boundary, on: connection)
            try connection.transaction { try projection.fold(events, to: shadows, on: $0) }
            covered += events.count
            progress(covered)
        }
        try connection.transaction { connection in
            try projection.finishBulk(to: shadows, on: connection)
            try connection.query(
                """
                UPDATE projection_checkpoints SET transaction_id = $2::xid8, global_position = $3, updated_at = now() WHERE name = $1
                """, [projection.checkpointName(.shadow), last.transactionID, last.position])
        }
        try restoreIndexes(projection, on: connection)
        return covered
    }

    /// Writes the single reports of `ranges` into the shadows, one transaction per range, the
    /// ranges shared out among `connections` (each on a thread of its own). Progress is told from
    /// the first connection's thread, with the total so far.
    /// - Throws: the first failure (the other connections finish the range they are writing).
    private static func loadRanges(
        _ ranges: [ClosedRange<Int64>], of projection: some Projection, before boundary: UInt64,
        on connections: [PostgresConnection], progress: @Sendable (Int) -> Void
    ) throws -> Int {
        let work = RangeWork(ranges)
        // Returns once every connection has committed (or failed) its last range.
        DispatchQueue.concurrentPerform(iterations: connections.count) { index in
            while let range = work.next() {
                do {
                    // Whole ranges against small sets: hash joins, with the memory to hold them.
                    let count = try connections[index].transaction(begin: "BEGIN; SET LOCAL enable_nestloop = off; SET LOCAL work_mem = '64MB'") {
                        try projection.loadReports(.below(boundary, positions: range), to: ProjectionTables(target: .shadow), on: $0)
                    }
                    let covered = work.add(count)
                    if index == 0 { progress(covered) }
                } catch {
                    work.fail(error)
                }
            }
        }
        return try work.result()
    }

    /// The ranges of a bulk load still to write, and what the writers did, shared among them.
    private final class RangeWork: Sendable {
        private let ranges: [ClosedRange<Int64>]
        private let state = Mutex((next: 0, covered: 0, failure: (any Error)?.none))

        init(_ ranges: [ClosedRange<Int64>]) { self.ranges = ranges }

        /// The next range to write; nil when all are taken or one failed.
        func next() -> ClosedRange<Int64>? {
            state.withLock { state in
                guard state.failure == nil, state.next < ranges.count else { return nil }
                state.next += 1
                return ranges[state.next - 1]
            }
        }

        /// Counts a written range's events; returns the total so far.
        func add(_ count: Int) -> Int {
            state.withLock { state in
                state.covered += count; return state.covered
            }
        }

        func fail(_ error: any Error) { state.withLock { state in state.failure = state.failure ?? error } }

        func result() throws -> Int {
            try state.withLock { state in
                if let failure = state.failure { throw failure }
                return state.covered
            }
        }
    }

    /// Builds the shadows' indexes a bulk load dropped (nothing when none were dropped); with
    /// `keysOnly`, their primary keys only (the first index each shadow restores).
    static func restoreIndexes(_ projection: some Projection, keysOnly: Bool = false, on connection: PostgresConnection) throws {
        let shadows = ProjectionTables(target: .shadow)
        // Index builds sort: give them room (the default 64 MB spills to disk at a million rows).
        // One index per transaction: a build holds back gapless readers until it commits.
        try connection.execute("SET maintenance_work_mem = '256MB'")
        defer { try? connection.execute("RESET maintenance_work_mem") }
        for table in projection.tables {
            // One stashed index of the table (its key first); false when none was left.
            func restoreNext() throws -> Bool {
                try connection.query("SELECT shadow_indexes_restore($1)", [shadows(table)]).first?.decode(0, as: Bool.self) == true
            }
            if keysOnly {
                _ = try restoreNext()
            } else {
                while try restoreNext() {}
            }
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
        // A bulk load that died halfway may have left the shadows without their indexes and keys.
        try restoreIndexes(projection, on: connection)
        // Fresh statistics, so the first queries on the swapped-in tables plan well.
        try projection.analyze(.shadow, on: connection)
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
            try connection.query(
                """
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

    /// A full rebuild on one connection (and `alongside`, for the bulk load's ranges): start,
    /// replay, swap. `progress` gets the events replayed so far.
    public static func run(
        _ projection: some Projection, by actor: AccessAudit.Actor = .local, on connection: PostgresConnection, alongside helper: PostgresConnection? = nil,
        rangeSize: Int64 = ProjectionRebuild.rangeSize, progress: (Int) -> Void = { _ in }
    ) throws {
        try start(projection, by: actor, on: connection)
        var replayed = 0
        do {
            replayed = try bulk(projection, on: connection, alongside: helper, rangeSize: rangeSize)
            progress(replayed)
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

    /// Whether some session (or this one) is rebuilding `projection` now.
    /// - Parameter inThisSession: whether the connection's own session is the one rebuilding.
    public static func isRunning(_ projection: some Projection, on connection: PostgresConnection, inThisSession: Bool = false) throws -> Bool {
        try connection.query(
            """
            SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND classid = $1::oid AND objid = $2::oid AND objsubid = 2
                           AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
            """ + (inThisSession ? " AND pid = pg_backend_pid()" : "") + ")",
            [Int(UInt32(bitPattern: AdvisoryLock.namespace)), Int(UInt32(bitPattern: AdvisoryLock.rebuild(projection.name)))]
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
        let row = try connection.query(
            """
            SELECT (SELECT global_position FROM projection_checkpoints WHERE name = $1),
                   (SELECT rebuilt_at FROM projection_checkpoints WHERE name = $2)
            """, [projection.checkpointName(.shadow), projection.name]
        ).first
        return Status(running: running, shadowPosition: try row?.decodeIfPresent(0), rebuiltAt: try row?.decodeIfPresent(1))
    }
}
