import Foundation
import Synchronization

/// The principals of tokens found recently, so most requests are authenticated without a
/// database round trip.
///
/// It answers only while its owner listens to `incident_tokens`, which a trigger notifies on
/// every change to `api_tokens` (migration 0008): each notification, and each loss of the
/// listening connection, forgets everything. A lookup that raced a change is not remembered (the
/// generation moved on). Expiry is checked on every lookup. Revocation in this process
/// (``AccessTokens/revoke(name:)``) forgets at once; in another process, as soon as the
/// notification arrives — it is sent when the revoking transaction commits. No token is
/// remembered longer than `maximumAge` (30 s), which bounds the delay if notifications stop
/// arriving unnoticed (a connection cut off without a reset).
public final class TokenCache: Sendable {
    struct Entry {
        var principal: Principal
        var expiresAt: Date?
        var remembered = ContinuousClock.now
    }

    private struct State {
        var entries: [String: Entry] = [:]
        var generation = 0
        var listening = false
    }

    private let state = Mutex(State())
    /// Remembering more tokens than this starts over (a bound, not an expected size).
    private let capacity: Int
    /// How long a token is remembered at most: the bound on a revocation's delay when
    /// notifications stop arriving without the listener noticing (a half-open connection).
    private let maximumAge: Duration

    public init(capacity: Int = 10_000, maximumAge: Duration = .seconds(30)) {
        self.capacity = capacity
        self.maximumAge = maximumAge
    }

    /// Whether it answers (its owner is listening for changes).
    public var isListening: Bool { state.withLock { $0.listening } }
    /// How many tokens it remembers.
    public var count: Int { state.withLock { $0.entries.count } }

    /// The remembered principal of a token hash, if it is still valid at `now`.
    func principal(hash: String, now: Date) -> Principal? {
        state.withLock { state in
            guard state.listening, let entry = state.entries[hash] else { return nil }
            if let expiresAt = entry.expiresAt, expiresAt <= now { return nil }
            if ContinuousClock.now - entry.remembered > maximumAge { return nil }
            return entry.principal
        }
    }

    /// The generation to hand to ``remember(_:hash:since:)`` after reading the database; nil
    /// while nobody listens (then nothing is remembered).
    var generation: Int? {
        state.withLock { $0.listening ? $0.generation : nil }
    }

    func remember(_ entry: Entry, hash: String, since generation: Int?) {
        state.withLock { state in
            guard state.listening, let generation, generation == state.generation else { return }
            if state.entries.count >= capacity { state.entries.removeAll() }
            state.entries[hash] = entry
        }
    }

    /// Forgets every token; `listening` says whether changes will be heard from now on.
    public func forgetAll(listening: Bool) {
        state.withLock { state in
            state.entries.removeAll()
            state.generation += 1
            state.listening = listening
        }
    }

    /// Forgets every token, listening or not as before.
    public func forgetAll() {
        state.withLock { state in
            state.entries.removeAll()
            state.generation += 1
        }
    }
}
