import Logging
import NIOPosix
import ServiceLifecycle
import Synchronization

/// A bounded pool of PostgreSQL connections whose work runs on the pool's own threads.
///
/// libpq blocks, so bodies passed to ``withConnection(_:)`` run on a `NIOThreadPool` sized to the
/// pool, never on Swift's shared concurrency threads. A body gets a connection for its duration only
/// (it must not keep it). A connection that the server dropped, or that turns out to be on a
/// standby, is closed and replaced on next use: with a multi-host connection string
/// (`target_session_attrs=read-write`) the new one reaches whichever server is the primary then.
public final class ConnectionPool: Sendable {
    public struct Configuration: Sendable {
        /// libpq connection string or URI.
        public var conninfo: String
        /// The most connections open at once; also the number of threads.
        public var maxConnections: Int
        /// Statements run once on every new connection, e.g. `SET ROLE incident_app`.
        public var setupStatements: [String]

        public init(conninfo: String, maxConnections: Int = 8, setupStatements: [String] = []) {
            self.conninfo = conninfo
            self.maxConnections = max(1, maxConnections)
            self.setupStatements = setupStatements
        }
    }

    private enum Lease: Sendable {
        case connection(PostgresConnection)
        /// A free slot: the holder opens a new connection.
        case slot
    }

    private struct Waiter {
        var id: Int
        var continuation: CheckedContinuation<Lease, any Error>
    }

    private struct State {
        var idle: [PostgresConnection] = []
        /// Connections that exist or are being opened, idle or leased.
        var open = 0
        var waiters: [Waiter] = []
        var nextWaiterID = 0
        var closed = false
    }

    public let configuration: Configuration
    private let threads: NIOThreadPool
    private let state = Mutex(State())
    private let logger: Logger

    public init(configuration: Configuration, logger: Logger = Logger(label: "incident.db")) {
        self.configuration = configuration
        self.logger = logger
        self.threads = NIOThreadPool(numberOfThreads: configuration.maxConnections)
        self.threads.start()
    }

    /// Runs `body` with a connection of its own, on one of the pool's threads.
    ///
    /// The connection's `statement_timeout` is the task's ``StatementTimeout/current`` (the
    /// session's default when the task sets none).
    ///
    /// - Parameter body: synchronous database work; the connection must not escape it.
    /// - Returns: what `body` returns.
    /// - Throws: ``DatabaseError`` (connection failures have `isConnectionFailure`), or what `body` throws.
    public func withConnection<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        // Read here: task-locals do not reach the pool's threads.
        let timeout = StatementTimeout.current
        let lease = try await acquire()
        do {
            return try await threads.runIfActive { [self] in
                let connection: PostgresConnection
                do {
                    connection = try usableConnection(for: lease)
                } catch {
                    release(nil)
                    throw error
                }
                defer { release(connection) }
                do {
                    try connection.useStatementTimeout(timeout)
                    return try body(connection)
                } catch let error as DatabaseError where error.isConnectionFailure {
                    // Broken, or on a standby: the next lease opens a new one, on the primary.
                    connection.close()
                    throw error
                }
            }
        } catch let error as DatabaseError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // NIOThreadPool refuses work once shut down.
            if state.withLock({ $0.closed }) { throw DatabaseError(kind: .poolClosed, message: "pool closed") }
            throw error
        }
    }

    /// Runs `body` in a transaction: commits when it returns, rolls back when it throws.
    public func withTransaction<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) throws -> T
    ) async throws -> T {
        try await withConnection { connection in try connection.transaction(body) }
    }

    /// Closes idle connections, fails waiting requests and stops the threads; leased connections
    /// close when their bodies return.
    public func close() async {
        let (idle, waiters) = state.withLock { state -> ([PostgresConnection], [Waiter]) in
            state.closed = true
            defer { state.idle = []; state.waiters = [] }
            return (state.idle, state.waiters)
        }
        for waiter in waiters {
            waiter.continuation.resume(throwing: DatabaseError(kind: .poolClosed, message: "pool closed"))
        }
        for connection in idle { connection.close() }
        try? await threads.shutdownGracefully()
    }

    /// Counts for metrics and tests.
    public var statistics: (open: Int, idle: Int, waiting: Int) {
        state.withLock { ($0.open, $0.idle.count, $0.waiters.count) }
    }

    // MARK: - Leasing

    private func acquire() async throws -> Lease {
        let id = state.withLock { state in
            state.nextWaiterID += 1
            return state.nextWaiterID
        }
        let limit = configuration.maxConnections
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Lease, any Error>) in
                let immediate: Result<Lease, any Error>? = state.withLock { state in
                    if state.closed { return .failure(DatabaseError(kind: .poolClosed, message: "pool closed")) }
                    // Checked under the lock, so a cancellation that ran before we queued is not missed.
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if let connection = state.idle.popLast() { return .success(.connection(connection)) }
                    if state.open < limit {
                        state.open += 1
                        return .success(.slot)
                    }
                    state.waiters.append(Waiter(id: id, continuation: continuation))
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            let waiter = state.withLock { state -> Waiter? in
                guard let index = state.waiters.firstIndex(where: { $0.id == id }) else { return nil }
                return state.waiters.remove(at: index)
            }
            waiter?.continuation.resume(throwing: CancellationError())
        }
    }

    /// On a pool thread: the leased connection if still good, else a new one.
    private func usableConnection(for lease: Lease) throws -> PostgresConnection {
        if case .connection(let connection) = lease {
            if connection.isUsable { return connection }
            logger.debug("replacing a connection the server dropped", metadata: ["db.pid": "\(connection.backendPID)"])
            connection.close()
        }
        return try Self.open(configuration)
    }

    /// A connection of its own, set up like the pool's but outside it (blocking): for work that
    /// runs beside a pool's connection for a while, such as the second writer of a bulk load.
    /// The caller closes it.
    public func openConnection() throws -> PostgresConnection { try Self.open(configuration) }

    /// Opens a connection set up like the pool's own (blocking).
    static func open(_ configuration: Configuration) throws -> PostgresConnection {
        let connection = try PostgresConnection(conninfo: configuration.conninfo)
        do {
            // Sessions speak UTC and ISO dates, whatever the server's defaults are. Statements are
            // prepared once (parsed once) but planned with their values every time: a generic plan
            // cannot know that a range after a checkpoint is empty, and counts the whole log for
            // the lag gauge.
            // Statements outside a transaction block run in READ COMMITTED whatever the server's or
            // role's default: a summary's one statement then takes its snapshot after its locks.
            // No JIT compilation: the daemon's statements run in milliseconds, and when an estimate
            // crosses jit_above_cost (the summary's, whose range of unapplied events the planner
            // cannot know) compiling the statement costs several times what running it does.
            try connection.execute(
                """
                SET TimeZone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET client_min_messages = warning;
                SET plan_cache_mode = force_custom_plan; SET default_transaction_isolation = 'read committed'; SET jit = off
                """)
            for statement in configuration.setupStatements { try connection.execute(statement) }
        } catch {
            connection.close()
            throw error
        }
        return connection
    }

    /// Returns a connection (or, with nil, a slot whose connection could not be opened).
    private func release(_ connection: PostgresConnection?) {
        var keep = connection
        if let connection, !connection.isUsable {
            // A body that threw inside a transaction leaves it open; roll back and keep the connection.
            try? connection.execute("ROLLBACK")
            if !connection.isUsable {
                connection.close()
                keep = nil
            }
        }
        let action = state.withLock { state -> (Waiter?, Lease?, PostgresConnection?) in
            if state.closed {
                state.open -= 1
                return (nil, nil, keep)
            }
            if !state.waiters.isEmpty {
                let waiter = state.waiters.removeFirst()
                return (waiter, keep.map { .connection($0) } ?? .slot, nil)
            }
            if let keep {
                state.idle.append(keep)
            } else {
                state.open -= 1
            }
            return (nil, nil, nil)
        }
        if let waiter = action.0, let lease = action.1 { waiter.continuation.resume(returning: lease) }
        action.2?.close()
    }
}

extension ConnectionPool: Service {
    /// Serves until the service group shuts down, then closes the pool: put it before the services
    /// that use it, so that the group, which stops services in reverse order, closes it last.
    public func run() async throws {
        try? await gracefulShutdown()
        await close()
    }
}
