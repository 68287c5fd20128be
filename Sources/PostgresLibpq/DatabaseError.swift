/// An error from PostgreSQL or from talking to it.
///
/// `description` is safe to show to a user or write to a log (no SQL text, no parameters);
/// `debugDescription` carries the server's detail for operators.
public struct DatabaseError: Error, Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// Could not connect, or the connection broke. The database may be down; try again later.
        case connection
        /// The server answered with an error; `sqlState` says which.
        case server
        /// The pool was shut down while the request waited.
        case poolClosed
    }

    public var kind: Kind
    /// The five-character SQLSTATE, e.g. `23505` (unique violation), when the server sent one.
    public var sqlState: String?
    /// The server's primary message (or libpq's, for connection errors).
    public var message: String
    public var detail: String?
    public var constraint: String?

    public init(kind: Kind, sqlState: String? = nil, message: String, detail: String? = nil, constraint: String? = nil) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
        self.detail = detail
        self.constraint = constraint
    }

    /// True when the request failed because the server is out of reach (not because of the
    /// request), or is a standby that cannot take it: the connection is of no use, another one
    /// (to whichever server is the primary then) may succeed.
    public var isConnectionFailure: Bool {
        if kind == .connection || kind == .poolClosed { return true }
        guard let sqlState else { return false }
        // 08: connection exception; 57P01-57P03: admin/crash shutdown, cannot connect now; 53300: too many connections.
        return sqlState.hasPrefix("08") || ["57P01", "57P02", "57P03", "53300"].contains(sqlState) || isOnStandby
    }

    /// 25006 `read_only_sql_transaction` from a server in recovery: the connection reached a
    /// standby (a failover demoted its server, or the connection string has no
    /// `target_session_attrs=read-write`). The daemon's own transactions are never read-only.
    public var isOnStandby: Bool { sqlState == "25006" }

    public var isUniqueViolation: Bool { sqlState == "23505" }

    /// True when the server cancelled the statement (57014 `query_canceled`): its
    /// `statement_timeout` ran out (or an operator cancelled it), not a fault of the request.
    public var isStatementTimeout: Bool { sqlState == "57014" }

    public var description: String {
        switch kind {
        case .connection: "database unreachable"
        case .poolClosed: "database pool is shut down"
        case .server: "database error (SQLSTATE \(sqlState ?? "unknown"))"
        }
    }

    public var debugDescription: String {
        var text = "\(description): \(message)"
        if let detail { text += " — \(detail)" }
        if let constraint { text += " [constraint \(constraint)]" }
        return text
    }
}
