import Foundation

/// Runs blocking work (a subprocess, `pg_ctl`, a blocking socket) on a thread of its own.
///
/// Tests run in parallel on Swift's shared threads, two on a 2-core machine; a test that blocks
/// one of them holds up every other test's async code, and whatever those tests time.
public func onThread<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        Thread.detachNewThread { continuation.resume(with: Result { try body() }) }
    }
}
