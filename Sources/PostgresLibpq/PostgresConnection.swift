import CLibpq
import Foundation
import Synchronization

/// The one owner of a libpq connection (`PGconn*`).
///
/// Its methods block: they are meant to run inside ``ConnectionPool/withConnection(_:)``, which
/// calls them on the pool's own threads, never on Swift's shared concurrency threads.
///
/// `@unchecked Sendable`: a connection is handed to exactly one body at a time by the pool, which
/// is the only place it crosses threads; it is never used by two threads at once.
public final class PostgresConnection: @unchecked Sendable {
    private var handle: OpaquePointer?
    private static let opened = Atomic<Int>(0)

    /// Unique per connection in this process: a new value means a new session (whose locks and
    /// `LISTEN`s are not the old one's), even when the server reuses a backend process id.
    public let serial: Int

    /// Opens a connection; `conninfo` is a libpq connection string or URI (libpq's `PG*` variables apply).
    public init(conninfo: String) throws {
        let handle = PQconnectdb(conninfo)
        guard let handle else {
            throw DatabaseError(kind: .connection, message: "libpq could not allocate a connection")
        }
        guard PQstatus(handle) == CONNECTION_OK else {
            let message = Self.trimmed(PQerrorMessage(handle))
            PQfinish(handle)
            throw DatabaseError(kind: .connection, message: message)
        }
        self.handle = handle
        self.serial = Self.opened.add(1, ordering: .relaxed).newValue
    }

    deinit { close() }

    /// Closes the connection; later calls fail with a connection error.
    public func close() {
        if let handle {
            PQfinish(handle)
            self.handle = nil
        }
    }

    /// False once the server dropped the connection or it was closed, or when it is not idle.
    ///
    /// An idle connection that is not listening has nothing to read: when its socket is readable,
    /// the server sent an error before closing it (`pg_terminate_backend`, a restart) or closed it.
    /// The check does not block.
    public var isUsable: Bool {
        guard let handle, PQstatus(handle) == CONNECTION_OK, PQtransactionStatus(handle) == PQTRANS_IDLE else { return false }
        var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        guard poll(&descriptor, 1, 0) == 0 else {
            _ = PQconsumeInput(handle)
            return false
        }
        return true
    }

    /// True inside a transaction that a failed statement aborted (only ROLLBACK helps now).
    public var transactionFailed: Bool { handle.map { PQtransactionStatus($0) == PQTRANS_INERROR } ?? false }

    /// The server's process id, to tell connections apart in tests and logs.
    public var backendPID: Int32 { handle.map { PQbackendPID($0) } ?? 0 }

    /// How this connection reaches its server (socket or TCP, the address, TLS); nil once closed.
    public var transport: ConnectionTransport? {
        guard let handle else { return nil }
        return ConnectionTransport(
            host: PQhost(handle).map { String(cString: $0) } ?? "",
            address: PQhostaddr(handle).map { String(cString: $0) } ?? "",
            sslInUse: PQsslInUse(handle) == 1
        )
    }

    /// Runs one statement with bound parameters (never interpolated) and returns its rows.
    ///
    /// - Parameters:
    ///   - sql: one SQL statement with `$1`, `$2`, ... placeholders.
    ///   - parameters: the values, sent as text; `nil` is SQL NULL.
    /// - Throws: ``DatabaseError``.
    ///
    /// Each statement text is prepared once per connection (the first 256 of them), so the server
    /// parses and analyses it once, not on every call.
    @discardableResult
    public func query(_ sql: String, _ parameters: [(any PostgresEncodable)?] = []) throws -> QueryResult {
        try query(sql, parameters, retry: true)
    }

    /// The same, planned once for any values (`force_generic_plan`) instead of with its values on
    /// every call, as the pool's sessions plan: for a statement whose best plan cannot depend on
    /// its values, it saves planning it each time.
    ///
    /// One round trip: the mode is switched, the statement runs and the session's own mode comes
    /// back, pipelined (libpq pipeline mode) up to one sync. The three run in one transaction (the
    /// caller's, or an implicit one up to the sync), so when the statement fails, its rollback
    /// restores the mode too.
    @discardableResult
    public func queryWithGenericPlan(_ sql: String, _ parameters: [(any PostgresEncodable)?] = []) throws -> QueryResult {
        try queryWithGenericPlan(sql, parameters, retry: true)
    }

    private func queryWithGenericPlan(_ sql: String, _ parameters: [(any PostgresEncodable)?], retry: Bool) throws -> QueryResult {
        let handle = try liveHandle()
        let texts = [Self.planGeneric, sql, Self.planRestore]
        // Prepared before the pipeline starts (a PREPARE is a round trip of its own).
        let names = try texts.map { try preparedName($0, on: handle) }
        let results = try pipelined(texts, names: names, parameters: [[], parameters.map { $0?.postgresText }, []], on: handle)
        for result in results {
            guard case .failure(let error as DatabaseError) = result else { continue }
            if Self.isStalePreparedStatement(error) {
                // As in ``query(_:_:)``: forget the statements, and outside a transaction try once more.
                for text in texts { forget(text) }
                guard retry, PQtransactionStatus(handle) == PQTRANS_IDLE else { throw error }
                return try queryWithGenericPlan(sql, parameters, retry: false)
            }
            throw error
        }
        return try results[1].get()
    }

    /// Sends the statements in libpq pipeline mode, up to one sync, and reads every result (the
    /// connection leaves pipeline mode idle); one result per statement, its own error included.
    /// - Throws: when the connection broke (nothing is known then about the statements).
    private func pipelined(
        _ texts: [String], names: [String?], parameters: [[String?]], on handle: OpaquePointer
    ) throws -> [Result<QueryResult, any Error>] {
        guard PQenterPipelineMode(handle) == 1 else {
            throw DatabaseError(kind: .connection, message: Self.trimmed(PQerrorMessage(handle)))
        }
        // A connection that cannot leave pipeline mode is of no use to the next caller.
        defer { if PQexitPipelineMode(handle) != 1 { close() } }
        for (index, text) in texts.enumerated() {
            let sent = withCStrings(parameters[index]) { pointers in
                if let name = names[index] {
                    PQsendQueryPrepared(handle, name, Int32(pointers.count), pointers, nil, nil, 0)
                } else {
                    PQsendQueryParams(handle, text, Int32(pointers.count), nil, pointers, nil, nil, 0)
                }
            }
            guard sent == 1 else { throw DatabaseError(kind: .connection, message: Self.trimmed(PQerrorMessage(handle))) }
        }
        guard PQpipelineSync(handle) == 1 else {
            throw DatabaseError(kind: .connection, message: Self.trimmed(PQerrorMessage(handle)))
        }
        var results: [Result<QueryResult, any Error>] = []
        var afterResult = true
        while true {
            guard let result = PQgetResult(handle) else {
                // One NULL ends each statement's results; two in a row, or a broken connection,
                // mean the rest will never come.
                guard afterResult, PQstatus(handle) == CONNECTION_OK else {
                    throw DatabaseError(kind: .connection, message: Self.trimmed(PQerrorMessage(handle)))
                }
                afterResult = false
                continue
            }
            afterResult = true
            if PQresultStatus(result) == PGRES_PIPELINE_SYNC {
                PQclear(result)
                break
            }
            if PQresultStatus(result) == PGRES_PIPELINE_ABORTED {
                PQclear(result)
                results.append(.failure(DatabaseError(kind: .server, message: "not run: an earlier statement of its pipeline failed")))
            } else {
                results.append(Result { try QueryResult(consuming: result, connection: handle) })
            }
        }
        guard results.count == texts.count else {
            throw DatabaseError(kind: .connection, message: "a pipeline answered \(results.count) statements of \(texts.count)")
        }
        return results
    }

    /// Keeps the session's plan mode in a setting of our own and plans generically; then puts it back.
    private static let planGeneric = """
        SELECT set_config('incident_log.plan_cache_mode', current_setting('plan_cache_mode'), false),
               set_config('plan_cache_mode', 'force_generic_plan', false)
        """
    private static let planRestore = "SELECT set_config('plan_cache_mode', current_setting('incident_log.plan_cache_mode'), false)"

    private func query(_ sql: String, _ parameters: [(any PostgresEncodable)?], retry: Bool) throws -> QueryResult {
        let handle = try liveHandle()
        let texts = parameters.map { $0?.postgresText }
        let name = try preparedName(sql, on: handle)
        let result = withCStrings(texts) { pointers in
            if let name {
                PQexecPrepared(handle, name, Int32(pointers.count), pointers, nil, nil, 0)
            } else {
                PQexecParams(handle, sql, Int32(pointers.count), nil, pointers, nil, nil, 0)
            }
        }
        do {
            return try QueryResult(consuming: result, connection: handle)
        } catch let error as DatabaseError where name != nil && Self.isStalePreparedStatement(error) {
            // Forget it, and outside a transaction try once more.
            forget(sql)
            guard retry, PQtransactionStatus(handle) == PQTRANS_IDLE else { throw error }
            return try query(sql, parameters, retry: false)
        }
    }

    /// The statement is gone (a pooler's DISCARD ALL) or its plan no longer fits the table (a
    /// migration changed a column).
    private static func isStalePreparedStatement(_ error: DatabaseError) -> Bool {
        error.sqlState == "26000" || error.sqlState == "0A000"
    }

    /// Forgets the statement prepared for `sql` (and deallocates it, unless the transaction is aborted).
    private func forget(_ sql: String) {
        guard let name = prepared.removeValue(forKey: sql) else { return }
        _ = try? execute("DEALLOCATE " + name)
    }

    /// The texts prepared on this connection and their statement names. Prepared statements last
    /// as long as the session, whatever happens to transactions.
    /// The `statement_timeout` this session was last set to by ``useStatementTimeout(_:)``, in
    /// milliseconds; nil: the session's default (as opened, or after RESET).
    private var statementTimeout: Int?

    /// Sets the session's `statement_timeout` (nil: back to its default) unless it already is.
    /// Outside a transaction, so it holds for the session and no rollback undoes it.
    /// - Throws: ``DatabaseError``.
    public func useStatementTimeout(_ timeout: Duration?) throws {
        let wanted = timeout.map(StatementTimeout.milliseconds)
        guard wanted != statementTimeout else { return }
        // A number this process computed, not a value from outside: SET takes no parameters.
        try execute(wanted.map { "SET statement_timeout = \($0)" } ?? "RESET statement_timeout")
        statementTimeout = wanted
    }

    private var prepared: [String: String] = [:]
    private var preparedCount = 0

    /// The name `sql` is prepared under, preparing it now if needed; nil when it runs unprepared
    /// (the cache is full, or the transaction is aborted and would refuse the PREPARE).
    private func preparedName(_ sql: String, on handle: OpaquePointer) throws -> String? {
        if let name = prepared[sql] { return name }
        guard prepared.count < 256, PQtransactionStatus(handle) == PQTRANS_IDLE || PQtransactionStatus(handle) == PQTRANS_INTRANS else {
            return nil
        }
        let name = "incident_log_\(preparedCount)"
        preparedCount += 1
        _ = try QueryResult(consuming: PQprepare(handle, name, sql, 0, nil), connection: handle)
        prepared[sql] = name
        return name
    }

    /// Runs a script of one or more statements without parameters (migrations, `BEGIN`, `SET`).
    public func execute(_ script: String) throws {
        let handle = try liveHandle()
        // PQexec returns the last statement's result; an error stops the script there.
        _ = try QueryResult(consuming: PQexec(handle, script), connection: handle)
    }

    /// Runs `body` in a transaction: commits when it returns, rolls back when it throws.
    /// - Parameter begin: the statements that open it (`BEGIN` and its modes, and anything to
    ///   run first, such as a `LOCK`), sent in one round trip.
    public func transaction<T>(begin: String = "BEGIN", _ body: (PostgresConnection) throws -> T) throws -> T {
        try execute(begin)
        do {
            let value = try body(self)
            try execute("COMMIT")
            return value
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// Subscribes to a notification channel (the name is quoted as an identifier).
    public func listen(_ channel: String) throws {
        let handle = try liveHandle()
        guard let escaped = PQescapeIdentifier(handle, channel, channel.utf8.count) else {
            throw DatabaseError(kind: .server, message: Self.trimmed(PQerrorMessage(handle)))
        }
        defer { PQfreemem(escaped) }
        try execute("LISTEN " + String(cString: escaped))
    }

    /// Waits up to `timeout` for a notification on a channel this connection listens to.
    ///
    /// - Returns: true when one or more notifications arrived (they are consumed), false on timeout.
    /// - Throws: ``DatabaseError`` when the connection broke.
    public func waitForNotification(timeout: Duration) throws -> Bool {
        let handle = try liveHandle()
        func drain() -> Bool {
            var received = false
            while let notification = PQnotifies(handle) {
                received = true
                PQfreemem(notification)
            }
            return received
        }
        if drain() { return true }
        var descriptor = pollfd(fd: PQsocket(handle), events: Int16(POLLIN), revents: 0)
        let milliseconds = Int32(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000)
        guard poll(&descriptor, 1, max(0, milliseconds)) > 0 else { return false }
        guard PQconsumeInput(handle) == 1, PQstatus(handle) == CONNECTION_OK else {
            throw DatabaseError(kind: .connection, message: Self.trimmed(PQerrorMessage(handle)))
        }
        return drain()
    }

    private func liveHandle() throws -> OpaquePointer {
        guard let handle else { throw DatabaseError(kind: .connection, message: "connection is closed") }
        return handle
    }

    static func trimmed(_ cString: UnsafePointer<CChar>?) -> String {
        guard let cString else { return "" }
        return String(cString: cString).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Calls `body` with C strings for `strings` (nil stays a null pointer), valid for the call only.
private func withCStrings<R>(_ strings: [String?], _ body: ([UnsafePointer<CChar>?]) -> R) -> R {
    var owned: [UnsafeMutablePointer<CChar>?] = strings.map { $0.flatMap { strdup($0) } }
    defer { for pointer in owned { free(pointer) } }
    return owned.withUnsafeMutableBufferPointer { buffer in
        body(buffer.map { UnsafePointer($0) })
    }
}
