import PostgresLibpq
import Synchronization

/// Commits concurrent writes together (group commit): one transaction, one commit — one WAL flush —
/// for every write that arrived while the previous group was committing.
///
/// `write` stores a whole group at once (one multi-row statement where it can) and answers each
/// input on its own: one input's conflict is its own failure, never the group's. Each caller hears
/// its answer only after the commit. When `write` throws or a statement aborts the transaction,
/// the group is rolled back and every input is written again on its own, so it never costs the
/// others. When the commit itself fails, every write of the group fails with that error (the
/// writes are idempotent: the client's retry is safe either way). A write that finds nobody else
/// waiting runs on its own, without a transaction block.
///
/// `write` must write nothing it would not also write in autocommit, and must not commit.
public final class GroupCommit<Input: Sendable, Output: Sendable>: Sendable {
    public typealias Write = @Sendable ([Input], PostgresConnection) throws -> [Result<Output, any Error>]

    private let pool: ConnectionPool
    private let write: Write
    private let maximumLeaders: Int
    private let maximumGroup: Int
    private let state = Mutex(State())

    private struct State {
        var queue: [Waiting] = []
        var leaders = 0
    }

    private struct Waiting: Sendable {
        var input: Input
        var continuation: CheckedContinuation<Output, any Error>
    }

    /// - Parameters:
    ///   - leaders: how many groups may commit at once (each holds one pool connection meanwhile).
    ///   - maximumGroup: the most writes in one transaction.
    ///   - write: stores a group on the connection; one result per input, in order.
    public init(pool: ConnectionPool, leaders: Int = 2, maximumGroup: Int = 128, write: @escaping Write) {
        self.pool = pool
        self.write = write
        self.maximumLeaders = max(1, leaders)
        self.maximumGroup = max(1, maximumGroup)
    }

    /// Writes `input` in the next group and returns its answer once the group has committed.
    public func run(_ input: Input) async throws -> Output {
        try await withCheckedThrowingContinuation { continuation in
            let lead = state.withLock { state -> Bool in
                state.queue.append(Waiting(input: input, continuation: continuation))
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
            let group = state.withLock { state -> [Waiting] in
                guard !state.queue.isEmpty else {
                    state.leaders -= 1
                    return []
                }
                let group = Array(state.queue.prefix(maximumGroup))
                state.queue.removeFirst(group.count)
                return group
            }
            guard !group.isEmpty else { return }
            let answers: [Result<Output, any Error>]
            do {
                answers = try await pool.withConnection { [write] connection in try Self.together(group.map(\.input), on: connection, write: write) }
            } catch {
                answers = Array(repeating: .failure(error), count: group.count)
            }
            for (waiting, answer) in zip(group, answers) { waiting.continuation.resume(with: answer) }
        }
    }

    /// Writes `inputs` in one transaction and answers each; when `write` throws or a statement
    /// aborts the transaction, rolls back and writes each input on its own (without a transaction
    /// block), so one bad input never costs the others. One input is written on its own at once.
    /// The batch import uses it directly for its chunks.
    /// - Throws: when the group could not be committed (BEGIN, ROLLBACK or COMMIT failed).
    public static func together(_ inputs: [Input], on connection: PostgresConnection, write: Write) throws -> [Result<Output, any Error>] {
        if inputs.count == 1 { return alone(inputs[0], on: connection, write: write) }
        try connection.execute("BEGIN")
        let answers = try? write(inputs, connection)
        guard let answers, answers.count == inputs.count, !connection.transactionFailed else {
            try connection.execute("ROLLBACK")
            return inputs.flatMap { alone($0, on: connection, write: write) }
        }
        try connection.execute("COMMIT")
        return answers
    }

    private static func alone(_ input: Input, on connection: PostgresConnection, write: Write) -> [Result<Output, any Error>] {
        do {
            let answers = try write([input], connection)
            return answers.count == 1 ? answers : [.failure(GroupCommitError.answerMissing)]
        } catch {
            return [.failure(error)]
        }
    }
}

/// `write` broke its contract: it did not answer each input.
public enum GroupCommitError: Error { case answerMissing }
