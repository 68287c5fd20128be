import IncidentStore
import Logging
import PostgresLibpq

/// How the serving connections are set up, and what their login role could do.
struct ServingSessions: Sendable {
    /// Run first on every serving connection: `SET ROLE incident_app` when the role may.
    var setupStatements: [String]
    /// The serving login role's standing (docs/operations.md, Database roles).
    var standing: DatabaseRoles.Standing
    /// The owner's connection info, when this start had one (given apart, or the one URL's role is privileged).
    var ownerConninfo: String?
    /// How the serving connection reached the database (TLS, socket, address).
    var transport: ConnectionTransport?
}

/// The schema is not current and this process has no owner to bring it up to date.
struct MigrationsPendingWithoutOwner: Error, CustomStringConvertible {
    var pending: Int

    var description: String {
        "\(pending) migration(s) pending, and the database role of --database-url may not apply them: "
            + "run `incidentd migrate` with the owner's URL (--migration-database-url or INCIDENT_MIGRATION_DATABASE_URL), "
            + "or give serve that URL too"
    }
}

extension Database {
    /// Everything a start does before serving (docs/operations.md, Database roles), in order:
    ///
    /// 1. As the owner (the embedded cluster's superuser, `--migration-database-url`, or the one
    ///    URL given when its role is privileged): applies the migrations, takes from `PUBLIC` what
    ///    the daemon never uses (``DatabaseRoles/restrictPublic(on:)``) and, on the embedded
    ///    cluster, makes the runtime role. With one unprivileged URL nothing can be migrated:
    ///    the migrations must be current already.
    /// 2. As the serving connections will be: reads the login role's standing, and checks that
    ///    the log's transaction ids are behind the cluster's (``LogClock``).
    /// 3. `keys`, with the owner's pool (or, without an owner, the serving one): what must be done
    ///    with the master key before anything is served.
    ///
    /// - Throws: ``MigrationError``, ``MigrationsPendingWithoutOwner``, ``LogClock/AheadOfCluster``,
    ///   ``DatabaseError``.
    func prepare(logger: Logger, keys: ((ConnectionPool) async throws -> Void)? = nil) async throws -> ServingSessions {
        var owner = ownerConninfo
        if owner == nil, try await Self.standing(of: conninfo, logger: logger).isPrivileged {
            owner = conninfo
        }
        if let owner {
            let pool = ConnectionPool(configuration: .init(conninfo: owner, maxConnections: 1), logger: logger)
            do {
                try await Migrator().migrate(pool, logger: logger)
                try await pool.withConnection { [embedded = cluster != nil] connection in
                    try DatabaseRoles.restrictPublic(on: connection)
                    if embedded { try DatabaseRoles.ensureRuntimeRole(on: connection) }
                }
            } catch {
                await pool.close()
                throw error
            }
            await pool.close()
        }
        // After the migrations, which make incident_app.
        let standing = try await Self.standing(of: conninfo, logger: logger)
        let setup = standing.isAppMember ? DatabaseRoles.sessionSetup : []
        let serving = ConnectionPool(configuration: .init(conninfo: conninfo, maxConnections: 1, setupStatements: setup), logger: logger)
        let transport: ConnectionTransport?
        do {
            transport = try await serving.withConnection { [migrated = owner != nil] connection in
                if !migrated {
                    let pending = try Migrator().pendingMigrations(connection).count
                    if pending > 0 { throw MigrationsPendingWithoutOwner(pending: pending) }
                }
                try LogClock.check(on: connection)
                return connection.transport
            }
            if let keys {
                if let owner {
                    let pool = ConnectionPool(configuration: .init(conninfo: owner, maxConnections: 1), logger: logger)
                    do { try await keys(pool) } catch { await pool.close(); throw error }
                    await pool.close()
                } else {
                    try await keys(serving)
                }
            }
        } catch {
            await serving.close()
            throw error
        }
        await serving.close()
        return ServingSessions(setupStatements: setup, standing: standing, ownerConninfo: owner, transport: transport)
    }

    private static func standing(of conninfo: String, logger: Logger) async throws -> DatabaseRoles.Standing {
        let pool = ConnectionPool(configuration: .init(conninfo: conninfo, maxConnections: 1), logger: logger)
        do {
            let standing = try await pool.withConnection { try DatabaseRoles.standing(on: $0) }
            await pool.close()
            return standing
        } catch {
            await pool.close()
            throw error
        }
    }
}
