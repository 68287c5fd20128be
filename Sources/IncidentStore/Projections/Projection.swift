import Foundation
import PostgresLibpq

/// A read model of the log: tables that a fold of the events keeps current.
///
/// The projector applies batches of events in commit-safe order and writes the projection's
/// checkpoint in the same transaction, so each event takes effect exactly once however often the
/// projector stops. A rebuild applies the whole log to the shadow of each table
/// (`<table>_shadow`) and swaps them in (see ``ProjectionRebuild``).
public protocol Projection: Sendable {
    /// The projection's name (docs/data-model.md, Read models): its checkpoint row, and how admins name it.
    var name: String { get }
    /// The tables the projection owns, by their live names.
    var tables: [String] { get }
    /// Writes the reports `reports` selects — events that open an incident's stream — in SQL on
    /// the server, without reading them into the process: what a report makes of the projection's
    /// rows, stated once, for the projector's batches (``apply(_:to:on:)``) and the rebuild's bulk
    /// (``ProjectionRebuild/bulk(_:on:alongside:rangeSize:progress:)``).
    /// - Returns: how many incidents it wrote.
    func loadReports(_ reports: OpeningReports, to tables: ProjectionTables, on connection: PostgresConnection) throws -> Int
    /// Folds events that follow their incident's opening report into the rows it made, in the
    /// caller's transaction: what later events change, stated once. Events already applied (an
    /// incident's version at or above the event's) are skipped.
    func fold(_ events: [RecordedEvent], to tables: ProjectionTables, on connection: PostgresConnection) throws
    /// After a bulk load: derives what the projection derives from its rows.
    func finishBulk(to tables: ProjectionTables, on connection: PostgresConnection) throws
    /// The tables a long catch-up leaves mostly dead pages in (see ``compact(on:)``); none by default.
    var compactable: [String] { get }
}

extension Projection {
    public func finishBulk(to tables: ProjectionTables, on connection: PostgresConnection) throws {}

    /// Applies a batch of events, in commit-safe order, to `tables`, in the caller's transaction:
    /// the reports that open incidents through ``loadReports(_:to:on:)``, then the rest through
    /// ``fold(_:to:on:)``. Events already applied are skipped.
    public func apply(_ events: [RecordedEvent], to tables: ProjectionTables, on connection: PostgresConnection) throws {
        let reports = events.filter(\.heading.opensIncident)
        if !reports.isEmpty { _ = try loadReports(.at(reports.map(\.globalPosition)), to: tables, on: connection) }
        try fold(reports.isEmpty ? events : events.filter { !$0.heading.opensIncident }, to: tables, on: connection)
    }

    public var compactable: [String] { [] }

    /// Rewrites the live ``compactable`` tables compactly (through `compact_read_model`): after a
    /// backlog, small tables updated batch after batch are mostly dead pages that every read scans.
    public func compact(on connection: PostgresConnection) throws {
        for table in compactable { try connection.query("SELECT compact_read_model($1)", [table]) }
    }

    /// Refreshes the planner's statistics of the projection's tables (through
    /// `analyze_read_model`, as the daemon's role does not own them).
    public func analyze(_ target: ProjectionTables.Target, on connection: PostgresConnection) throws {
        let tables = ProjectionTables(target: target)
        for table in self.tables { try connection.query("SELECT analyze_read_model($1)", [tables(table)]) }
    }
}

/// The physical names of a projection's tables: the live ones or their shadows.
public struct ProjectionTables: Sendable {
    public enum Target: Sendable { case live, shadow }
    public let target: Target

    /// The physical name of `table` (a projection's own constant name, never user input).
    public func callAsFunction(_ table: String) -> String {
        target == .live ? table : table + "_shadow"
    }
}

/// Advisory lock keys (two-key form: this namespace, then the job).
enum AdvisoryLock {
    static let namespace: Int32 = 0x696E_6364  // "incd"
    // 1 and 2: ``ActiveInstance``.

    static func rebuild(_ projection: String) -> Int32 {
        // Stable across processes: a small FNV-1a hash of the name, kept above the fixed keys.
        var hash: UInt32 = 2_166_136_261
        for byte in projection.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return Int32(bitPattern: (hash & 0x3FFF_FFFF) | 0x100)
    }
}

extension Projection {
    func checkpointName(_ target: ProjectionTables.Target) -> String {
        target == .live ? name : name + ":rebuild"
    }

    /// Applies the next batch after the checkpoint of `target`, in the caller's transaction.
    /// - Returns: how many events were read (0 when the target is current).
    func applyNextBatch(_ target: ProjectionTables.Target, limit: Int, on connection: PostgresConnection) throws -> Int {
        let checkpointName = checkpointName(target)
        try connection.query("INSERT INTO projection_checkpoints (name) VALUES ($1) ON CONFLICT DO NOTHING", [checkpointName])
        // The row lock makes one projector at a time apply a batch; others wait, then find it done.
        guard
            let row = try connection.query(
                "SELECT transaction_id::text AS txid, global_position FROM projection_checkpoints WHERE name = $1 FOR UPDATE", [checkpointName]
            ).first
        else { return 0 }
        // The batch's headings first. A batch of new reports only — most of them, under load —
        // is applied in SQL straight from the log; any other batch is read whole and folded here.
        let headings = try EventStore.readHeadings(after: try Checkpoint(row: row), limit: limit, on: connection)
        guard let last = headings.last else { return 0 }
        let tables = ProjectionTables(target: target)
        if headings.allSatisfy(\.opensIncident) {
            _ = try loadReports(.at(headings.map(\.globalPosition)), to: tables, on: connection)
        } else {
            try apply(try EventStore.read(at: headings.map(\.globalPosition), on: connection), to: tables, on: connection)
        }
        try connection.query(
            "UPDATE projection_checkpoints SET transaction_id = $2::xid8, global_position = $3, updated_at = now() WHERE name = $1",
            [checkpointName, last.checkpoint.transactionID, last.checkpoint.position]
        )
        return headings.count
    }

    /// Applies the next batch of events to the live tables, with the checkpoint, in one transaction.
    /// - Returns: how many events were applied (0 when the projection is current).
    @discardableResult
    public func catchUp(on connection: PostgresConnection, limit: Int = 500) throws -> Int {
        // Look before locking: a projection with nothing to do commits nothing (a locking
        // transaction would cost a WAL flush on every idle poll, competing with the writers').
        if let checkpoint = try checkpoint(on: connection), try EventStore.read(after: checkpoint, limit: 1, on: connection).events.isEmpty {
            return 0
        }
        return try connection.transaction { try applyNextBatch(.live, limit: limit, on: $0) }
    }

    /// The projection's checkpoint, and `as_of`: the highest global position up to which every
    /// committed event is included in its figures.
    public func position(on connection: PostgresConnection) throws -> (checkpoint: Checkpoint, asOf: Int64) {
        try ProjectionProgress.position(of: name, on: connection)
    }

    /// The query behind ``position(on:)``, for a statement that reads it beside figures (one
    /// snapshot for both); `parameter` names the statement's parameter holding the projection's name.
    /// Its four columns are read by ``position(from:)``.
    static func positionQuery(name parameter: String) -> String {
        "SELECT c.transaction_id::text AS txid, c.global_position, " + LogReads.positionsAfterCheckpoint + """

            FROM (SELECT coalesce((SELECT transaction_id FROM projection_checkpoints WHERE name = \(parameter)), '0'::xid8) AS transaction_id,
                         coalesce((SELECT global_position FROM projection_checkpoints WHERE name = \(parameter)), 0) AS global_position) AS c
            """
    }

    /// The checkpoint and `as_of` from the first four columns of a row of ``positionQuery(name:)``.
    static func position(from row: Row) throws -> (checkpoint: Checkpoint, asOf: Int64) {
        (try Checkpoint(row: row), try row.decodeIfPresent(2) ?? row.decode(3))
    }

    /// Events committed but not yet applied (the lag).
    public func lag(on connection: PostgresConnection) throws -> Int {
        try ProjectionProgress.lag(of: name, on: connection)
    }

    /// The checkpoint of `target`, read without a lock; nil before its first batch.
    func checkpoint(_ target: ProjectionTables.Target = .live, on connection: PostgresConnection) throws -> Checkpoint? {
        try ProjectionProgress.checkpoint(of: checkpointName(target), on: connection)
    }
}

/// How far a projection is, by its name alone (for readers that do not build one).
public enum ProjectionProgress {
    /// See ``Projection/position(on:)``.
    public static func position(of name: String, on connection: PostgresConnection) throws -> (checkpoint: Checkpoint, asOf: Int64) {
        try IncidentsProjection.position(from: connection.query(IncidentsProjection.positionQuery(name: "$1"), [name]).first!)
    }

    /// See ``Projection/lag(on:)``.
    public static func lag(of name: String, on connection: PostgresConnection) throws -> Int {
        try LogReads.count(after: try checkpoint(of: name, on: connection) ?? .start, on: connection)
    }

    static func checkpoint(of name: String, on connection: PostgresConnection) throws -> Checkpoint? {
        try connection.query(
            "SELECT transaction_id::text AS txid, global_position FROM projection_checkpoints WHERE name = $1", [name]
        ).first.map(Checkpoint.init(row:))
    }
}

/// Builds a PostgreSQL array literal (`{"a","b"}`) for `= ANY($1::text[])` and `unnest`.
func postgresArray(_ values: [some PostgresEncodable]) -> String {
    var literal = [UInt8]("{".utf8)
    for (index, value) in values.enumerated() {
        if index > 0 { literal.append(UInt8(ascii: ",")) }
        literal.append(UInt8(ascii: "\""))
        for byte in value.postgresText.utf8 {
            if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") { literal.append(UInt8(ascii: "\\")) }
            literal.append(byte)
        }
        literal.append(UInt8(ascii: "\""))
    }
    literal.append(UInt8(ascii: "}"))
    return String(decoding: literal, as: UTF8.self)
}

/// The jobs exactly one daemon per database does, each under a session advisory lock of its
/// own, released when its session ends: the holder works, the others stand by.
public enum ActiveInstance: Int32, Sendable {
    /// Keeps the read models current.
    case projector = 1
    /// Delivers the subscriptions' webhooks.
    case dispatcher = 2

    /// Takes the job's lock for the connection's session if no other session holds it.
    public func tryAcquire(on connection: PostgresConnection) throws -> Bool {
        try connection.query("SELECT pg_try_advisory_lock($1::int, $2::int)", [Int(AdvisoryLock.namespace), Int(rawValue)]).first?.decode(0) ?? false
    }
}
