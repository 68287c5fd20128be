import HTTPTypes
import Synchronization

/// At most `limit` holders per key at once: the batch imports that run at once (one key), the
/// open streams of each token (keyed by its name). A holder keeps a ``Slot``; the slot is given
/// back by ``Slot/release()`` or, at the latest, when the last reference to it goes (a response
/// body that was never written still gives its slot back).
final class ConcurrencyLimit: Sendable {
    let limit: Int
    private let held = Mutex<[String: Int]>([:])

    init(limit: Int) {
        self.limit = max(1, limit)
    }

    /// A slot for `key`, or nil when `limit` are held already.
    func tryAcquire(_ key: String = "") -> Slot? {
        let taken = held.withLock { held -> Bool in
            guard held[key, default: 0] < limit else { return false }
            held[key, default: 0] += 1
            return true
        }
        return taken ? Slot(limit: self, key: key) : nil
    }

    /// A slot for `key`; when `limit` are held, a 429 `too_many_requests` saying `message`, with
    /// `Retry-After: retryAfter` seconds.
    func acquire(_ key: String = "", refusing message: String, retryAfter: Int) throws -> Slot {
        guard let slot = tryAcquire(key) else {
            var error = APIError(.tooManyRequests, code: "too_many_requests", message: message)
            error.headers[.retryAfter] = String(retryAfter)
            throw error
        }
        return slot
    }

    /// How many slots of `key` are held.
    func count(_ key: String = "") -> Int { held.withLock { $0[key] ?? 0 } }

    fileprivate func giveBack(_ key: String) {
        held.withLock { held in
            let left = held[key, default: 1] - 1
            held[key] = left > 0 ? left : nil
        }
    }

    final class Slot: Sendable {
        private let limit: ConcurrencyLimit
        private let key: String
        private let released = Atomic<Bool>(false)

        fileprivate init(limit: ConcurrencyLimit, key: String) {
            self.limit = limit
            self.key = key
        }

        /// Gives the slot back (once; later calls do nothing).
        func release() {
            if !released.exchange(true, ordering: .acquiringAndReleasing) { limit.giveBack(key) }
        }

        deinit { release() }
    }
}
