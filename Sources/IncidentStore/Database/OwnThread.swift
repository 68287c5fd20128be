import Foundation

/// Runs blocking work (spawning `pg_ctl`, a subprocess, a blocking socket) on a thread of its
/// own, off Swift's shared threads: on a 2-core machine there are two of them, and work that
/// blocks one holds up every task's async code. (libpq calls have the pool's own threads.)
public func onOwnThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}
