import PostgresLibpq

/// A reader's place in the log: the last event it consumed, in commit-safe order
/// (writing transaction id, then global position).
///
/// Clients see it as an opaque string (`token`); only this type reads it.
public struct Checkpoint: Sendable, Hashable, Comparable, CustomStringConvertible {
    public var transactionID: UInt64
    public var position: Int64

    public init(transactionID: UInt64, position: Int64) {
        self.transactionID = transactionID
        self.position = position
    }

    /// Before the first event.
    public static let start = Checkpoint(transactionID: 0, position: 0)

    /// From a row whose first two columns are `transaction_id::text` and `global_position`.
    init(row: Row) throws {
        self.init(transactionID: try row.decode(0), position: try row.decode(1))
    }

    public static func < (a: Checkpoint, b: Checkpoint) -> Bool {
        (a.transactionID, a.position) < (b.transactionID, b.position)
    }

    /// The opaque string form, `v1.<transaction>.<position>`.
    public var token: String { "v1.\(transactionID).\(position)" }

    /// Parses a token; an empty string is the start. Nil when it is not a token this build made.
    public init?(token: String) {
        if token.isEmpty {
            self = .start
            return
        }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts[0] == "v1", let transaction = UInt64(parts[1]), let position = Int64(parts[2]),
            position >= 0
        else { return nil }
        self.init(transactionID: transaction, position: position)
    }

    public var description: String { token }
}
