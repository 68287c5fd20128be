import Synchronization

/// Failed authentications per client address (docs/api.md, Authentication and roles): after `limit` failures within
/// `window`, the address is refused for `penalty`, and a refused request is answered without
/// looking its token up, so neither guessing tokens nor flooding the token table pays.
///
/// Memory is bounded: at most `capacity` addresses are tracked. When the table is full, entries
/// that no longer count are dropped first; if it is still full, the eighth that failed longest ago
/// goes (an attacker with that many addresses can flush the table of its own older entries, but
/// never grow it).
public final class AuthFailureLimiter: Sendable {
    private struct Entry {
        /// Failures within the window, oldest first (at most `limit`).
        var failures: [ContinuousClock.Instant] = []
        var refusedUntil: ContinuousClock.Instant?
        var last: ContinuousClock.Instant { failures.last ?? refusedUntil ?? .now }
    }

    public let limit: Int
    public let window: Duration
    public let penalty: Duration
    private let capacity: Int
    private let table = Mutex<[String: Entry]>([:])

    /// - Parameters:
    ///   - limit: failures within `window` after which an address is refused (20).
    ///   - window: how far back failures count (60 s).
    ///   - penalty: how long a refused address stays refused (60 s).
    ///   - capacity: the most addresses tracked at once.
    public init(limit: Int = 20, window: Duration = .seconds(60), penalty: Duration = .seconds(60), capacity: Int = 10_000) {
        self.limit = max(1, limit)
        self.window = window
        self.penalty = penalty
        self.capacity = max(8, capacity)
    }

    /// How long `address` is still refused, nil when it is not.
    public func refusal(for address: String, now: ContinuousClock.Instant = .now) -> Duration? {
        table.withLock { table in
            guard let until = table[address]?.refusedUntil else { return nil }
            guard until > now else {
                table[address]?.refusedUntil = nil
                return nil
            }
            return until - now
        }
    }

    /// Counts a failed authentication from `address`; the one that reaches the limit starts the refusal.
    public func recordFailure(from address: String, now: ContinuousClock.Instant = .now) {
        table.withLock { table in
            if table[address] == nil && table.count >= capacity { makeRoom(&table, now: now) }
            var entry = table[address] ?? Entry()
            entry.failures.removeAll { now - $0 >= window }
            entry.failures.append(now)
            if entry.failures.count >= limit {
                entry.failures.removeAll()
                entry.refusedUntil = now + penalty
            }
            table[address] = entry
        }
    }

    /// How many addresses are tracked.
    public var count: Int { table.withLock { $0.count } }

    private func makeRoom(_ table: inout [String: Entry], now: ContinuousClock.Instant) {
        table = table.filter { _, entry in
            (entry.refusedUntil.map { $0 > now } ?? false) || entry.failures.contains { now - $0 < window }
        }
        guard table.count >= capacity else { return }
        let oldest = table.sorted { $0.value.last < $1.value.last }.prefix(max(1, capacity / 8)).map(\.key)
        for key in oldest { table[key] = nil }
    }
}
