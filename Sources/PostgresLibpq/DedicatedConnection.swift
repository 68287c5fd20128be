import NIOPosix
import Synchronization

/// One connection kept for a long-lived job, with a thread of its own: the projector (which holds
/// a session advisory lock and listens for notifications on it) and a projection rebuild.
///
/// Unlike a pool's connections it is never handed to anyone else, so session state (locks,
/// `LISTEN`) stays with the job. When the connection breaks it is closed and the next ``run(_:)``
/// opens a new one: a new session, whose ``PostgresConnection/backendPID`` tells the job that its
/// session state is gone.
public final class DedicatedConnection: Sendable {
    private let configuration: ConnectionPool.Configuration
    private let thread = NIOThreadPool(numberOfThreads: 1)
    private let connection = Mutex<PostgresConnection?>(nil)

    /// A connection configured like `pool`'s (same server, role and session settings).
    public init(like pool: ConnectionPool) {
        self.configuration = pool.configuration
        thread.start()
    }

    /// Runs `body` on the job's thread with its connection, opening one when there is none.
    /// - Throws: what `body` throws; after a connection failure the connection is dropped.
    public func run<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await thread.runIfActive { [self] in
            let current = try connection.withLock { current in
                if let current { return current }
                let opened = try ConnectionPool.open(configuration)
                current = opened
                return opened
            }
            do {
                return try body(current)
            } catch let error as DatabaseError where error.isConnectionFailure {
                drop()
                throw error
            }
        }
    }

    /// Closes the connection (ending its session and releasing its locks); the next run opens another.
    public func drop() {
        connection.withLock { current in
            current?.close()
            current = nil
        }
    }

    /// Closes the connection and stops the thread.
    public func close() async {
        try? await thread.runIfActive { [self] in drop() }
        try? await thread.shutdownGracefully()
    }
}
