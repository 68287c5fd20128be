import IncidentStore
import Logging
import PostgresLibpq
import ServiceLifecycle

/// Keeps the daemon's ``TokenCache`` honest: listens to `incident_tokens` on a connection of its
/// own and forgets every remembered token on each notification. While the connection is down the
/// cache is off (every request asks the database), and it starts empty once listening again.
struct TokenCacheListener: Service {
    let pool: ConnectionPool
    let cache: TokenCache
    let logger: Logger

    func run() async throws {
        let connection = DedicatedConnection(like: pool)
        defer { cache.forgetAll(listening: false) }
        var failures = 0
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await connection.run { try $0.listen("incident_tokens") }
                // Listening first, forgetting second: no change can fall between the two.
                cache.forgetAll(listening: true)
                if failures > 0 { logger.info("token cache on again") }
                failures = 0
                while !Task.isShuttingDownGracefully && !Task.isCancelled {
                    if try await connection.run({ try $0.waitForNotification(timeout: .milliseconds(500)) }) {
                        cache.forgetAll(listening: true)
                    }
                }
            } catch {
                cache.forgetAll(listening: false)
                connection.drop()
                failures += 1
                if failures == 1 { logger.warning("token cache off: cannot listen for token changes", metadata: ["error": "\(error)"]) }
                try? await Task.sleep(for: .seconds(min(failures, 5)))
            }
        }
        await connection.close()
    }
}
