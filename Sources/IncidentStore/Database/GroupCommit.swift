import Synchronization

/// Commits concurrent writes together (group commit): one transaction, one commit — one WAL flush —
/// for every write that arrived while the previous group was committing.
///
/// Each write keeps its own checks and its own answer: bodies run one after another in the
/// group's transaction, so each sees the ones before it (an idempotent retry in the same group is
/// a replay, a second report of the same incident a conflict), and each caller hears its outcome
/// only after the commit. A write that hits a database error aborts the transaction: the group is
/// rolled back and every write in it runs again on its own, so it never costs the others. When the
/// commit itself fails, every write of the group fails with that error (the writes are idempotent:
/// the client's retry is safe either way). A write that finds nobody else waiting runs on its own.
///
/// Bodies must write nothing they would not also write in autocommit, and must not commit.
public final class GroupCommit: Sendable {
    private let pool: ConnectionPool
    private let maximumLeaders: Int
    private let maximumGroup: Int
    private let state = Mutex(State())

    private struct State {
        var queue: [Item] = []
        var leaders = 0
    }

    /// - Parameters:
    ///   - leaders: how many groups may commit at once (each holds one pool connection meanwhile).
    ///   - maximumGroup: the most writes in one transaction.
    public init(pool: ConnectionPool, leaders: Int = 2, maximumGroup: Int = 128) {
        self.pool = pool
        self.maximumLeaders = max(1, leaders)
        self.maximumGroup = max(1, maximumGroup)
    }

    /// Runs `body` in the next group and returns its result once the group has committed.
    public func run<T: Sendable>(_ body: @escaping @Sendable (PostgresConnection) throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            let item = Item(body: body, continuation: continuation)
            let lead = state.withLock { state -> Bool in
                state.queue.append(item)
                guard state.leaders < maximumLeaders else { return false }
                state.leaders += 1
                return true
            }
            if lead { Task { await self.lead() } }
        }
    }

    /// Commits groups until nobody waits.
    private func lead() async {
        while true {
            let group = state.withLock { state -> [Item] in
                guard !state.queue.isEmpty else {
                    state.leaders -= 1
                    return []
                }
                let group = Array(state.queue.prefix(maximumGroup))
                state.queue.removeFirst(group.count)
                return group
            }
            guard !group.isEmpty else { return }
            do {
                try await pool.withConnection { connection in
                    if group.count == 1 {
                        group[0].execute(on: connection)
                        group[0].finish()
                        return
                    }
                    try connection.execute("BEGIN")
                    for item in group { item.execute(on: connection) }
                    if connection.transactionFailed {
                        try connection.execute("ROLLBACK")
                        for item in group {
                            item.execute(on: connection)
                            item.finish()
                        }
                        return
                    }
                    try connection.execute("COMMIT")
                    for item in group { item.finish() }
                }
            } catch {
                for item in group { item.fail(error) }
            }
        }
    }
}

/// One write waiting for its group: its body, its outcome, its caller.
private final class Item: @unchecked Sendable {
    private let body: (PostgresConnection) throws -> any Sendable
    private let resume: (Result<any Sendable, any Error>) -> Void
    private var outcome: Result<any Sendable, any Error>?
    private var finished = false

    init<T: Sendable>(body: @escaping @Sendable (PostgresConnection) throws -> T, continuation: CheckedContinuation<T, any Error>) {
        self.body = { try body($0) }
        self.resume = { result in continuation.resume(with: result.map { $0 as! T }) }
    }

    func execute(on connection: PostgresConnection) {
        outcome = Result { try body(connection) }
    }

    /// Answers the caller with the outcome of its body (after the group committed).
    func finish() {
        guard !finished, let outcome else { return }
        finished = true
        resume(outcome)
    }

    /// Answers the caller with the group's failure (no connection, or the commit failed).
    func fail(_ error: any Error) {
        guard !finished else { return }
        finished = true
        resume(.failure(error))
    }
}
