import Foundation
import HTTPTypes
import Hummingbird
import IncidentStore
import PostgresLibpq
import Synchronization

/// Names the server's current outbox key (`Outbox-Key-Id`) on every successful answer behind the
/// token check, so that ictl keeps its stored key current without asking: only when the id it sees
/// differs from the one it holds does it fetch `GET /v1/outbox-key`.
struct OutboxKeyHeaderMiddleware: RouterMiddleware {
    typealias Context = APIContext
    let current: CurrentOutboxKeyID?

    init(_ deps: AppDependencies) {
        current = deps.outbox.map { CurrentOutboxKeyID(pool: deps.pool, keys: $0) }
    }

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        if let id = await current?.id() { response.headers[.outboxKeyID] = id }
        return response
    }
}

/// The current outbox key's id, read again at most every 30 s: a key retired while the daemon runs
/// is named within that time, and requests do not each pay a query. Only the first read is waited
/// for; later ones run beside the request that found the id due, which answers with the id known
/// before, so a database that has gone away never slows an answer down.
final class CurrentOutboxKeyID: Sendable {
    private struct State {
        var id: String?
        var checkedAt: ContinuousClock.Instant?
        var checking = false
    }

    let pool: ConnectionPool
    let keys: OutboxKeys
    let interval: Duration
    private let state = Mutex(State())

    init(pool: ConnectionPool, keys: OutboxKeys, interval: Duration = .seconds(30)) {
        (self.pool, self.keys, self.interval) = (pool, keys, interval)
    }

    /// The id, nil while none is known.
    func id() async -> String? {
        let (known, due, first) = state.withLock { [interval] state -> (String?, Bool, Bool) in
            let due = !state.checking && state.checkedAt.map { ContinuousClock.now - $0 >= interval } ?? true
            if due { state.checking = true }
            return (state.id, due, state.checkedAt == nil)
        }
        guard due else { return known }
        if first { return await read() }
        Task { await read() }
        return known
    }

    /// Reads the id; a failed read (the database away) keeps the one known before.
    @discardableResult
    private func read() async -> String? {
        let read: String??
        do {
            read = .some(try await pool.withConnection { [keys] in try keys.current(on: $0)?.id })
        } catch {
            read = nil
        }
        return state.withLock { state in
            state.checking = false
            state.checkedAt = .now
            if let read { state.id = read }
            return state.id
        }
    }
}

extension HTTPField.Name {
    static let outboxKeyID = Self("Outbox-Key-Id")!
}
