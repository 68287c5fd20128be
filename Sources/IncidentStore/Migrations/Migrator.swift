import Logging
import PostgresLibpq

/// Applies migrations in order, each in one transaction, recorded with its checksum, under an
/// advisory lock so that daemons starting at once apply each file exactly once.
public struct Migrator: Sendable {
    /// Advisory lock key shared by every migrator of this project ("incident" in ASCII).
    public static let lockKey: Int64 = 0x696E_6369_6465_6E74

    public let migrations: [Migration]

    public init(migrations: [Migration] = Migration.all) {
        self.migrations = migrations.sorted { $0.version < $1.version }
    }

    /// Applies what is pending; returns the names applied now (empty when current).
    ///
    /// - Throws: ``MigrationError`` when an applied file changed or the database is newer than this
    ///   build; ``DatabaseError`` when a migration fails (it is rolled back, later ones are not run).
    @discardableResult
    public func migrate(_ pool: ConnectionPool, logger: Logger) async throws -> [String] {
        try await pool.withConnection { connection in
            try migrate(connection, logger: logger)
        }
    }

    /// The same on a connection the caller holds.
    public func migrate(_ connection: PostgresConnection, logger: Logger) throws -> [String] {
        try connection.query("SELECT pg_advisory_lock($1)", [Self.lockKey])
        defer { _ = try? connection.query("SELECT pg_advisory_unlock($1)", [Self.lockKey]) }
        try connection.execute(
            """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            )
            """)
        let pending = try pendingMigrations(connection)
        var applied: [String] = []
        for migration in pending {
            try connection.transaction { connection in
                try connection.execute(migration.sql)
                try connection.query(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    [migration.version, migration.name, migration.checksum]
                )
            }
            logger.info("migration applied", metadata: ["db.migration": "\(migration.name)"])
            applied.append(migration.name)
        }
        return applied
    }

    /// The migrations not yet applied; throws when an applied one was edited or is unknown.
    public func pendingMigrations(_ connection: PostgresConnection) throws -> [Migration] {
        let exists = try connection.query("SELECT to_regclass('schema_migrations') IS NOT NULL").first?.decode(0, as: Bool.self) ?? false
        guard exists else { return migrations }
        let rows = try connection.query("SELECT version, name, checksum FROM schema_migrations ORDER BY version").rows
        var appliedVersions = Set<Int>()
        for row in rows {
            let version = try row.decode(0, as: Int.self)
            let name = try row.decode(1, as: String.self)
            let checksum = try row.decode(2, as: String.self)
            guard let migration = migrations.first(where: { $0.version == version }) else {
                throw MigrationError.unknownApplied(version: version, name: name)
            }
            guard migration.checksum == checksum else {
                throw MigrationError.checksumMismatch(name: migration.name, applied: checksum, current: migration.checksum)
            }
            appliedVersions.insert(version)
        }
        return migrations.filter { !appliedVersions.contains($0.version) }
    }
}
