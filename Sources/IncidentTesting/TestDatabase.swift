import Foundation
import IncidentStore
import Logging
import PostgresLibpq

/// A database of its own for one test, on a real PostgreSQL.
///
/// The server is `INCIDENT_TEST_DATABASE_URL` when set (a role that may create databases), else a
/// private cluster this test process starts in a temporary directory and stops when it exits.
/// Each test gets a fresh database, so tests run in parallel and never see each other's rows.
public struct TestDatabase: Sendable {
    /// The database's name (also unique per test).
    public let name: String
    /// libpq connection info for this database as its owner (a superuser on the private cluster).
    public let conninfo: String
    /// A pool on this database as its owner.
    public let pool: ConnectionPool

    public var store: EventStore { EventStore(pool: pool) }

    /// Runs `body` with a fresh database, migrated unless told otherwise; drops it afterwards.
    ///
    /// - Parameters:
    ///   - migrated: apply the project's migrations first.
    ///   - maxConnections: the size of the test's pool.
    public static func with<T: Sendable>(
        migrated: Bool = true,
        maxConnections: Int = 8,
        _ body: (TestDatabase) async throws -> T
    ) async throws -> T {
        let server = try await TestServer.shared.start()
        let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(20)
        try await server.admin.withConnection { try $0.execute("CREATE DATABASE \(name)") }
        let conninfo = try ConnectionString.replacingDatabase(in: server.baseConninfo, with: String(name))
        let pool = ConnectionPool(configuration: .init(conninfo: conninfo, maxConnections: maxConnections))
        let database = TestDatabase(name: String(name), conninfo: conninfo, pool: pool)
        do {
            if migrated {
                try await Migrator().migrate(pool, logger: Logger(label: "test"))
                try await pool.withConnection { try $0.transaction { try TestKeys.ring.attach(on: $0, path: "(the test process's key)") } }
            }
            let result = try await body(database)
            await database.drop(server)
            return result
        } catch {
            await database.drop(server)
            throw error
        }
    }

    private func drop(_ server: TestServer.Running) async {
        await pool.close()
        _ = try? await server.admin.withConnection { [name] in try $0.execute("DROP DATABASE IF EXISTS \(name) WITH (FORCE)") }
    }
}
