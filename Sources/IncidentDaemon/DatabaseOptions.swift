import ArgumentParser
import Foundation
import IncidentStore
import Logging
import PostgresLibpq

/// Where the database is: an existing PostgreSQL, or the embedded cluster in the data directory.
struct DatabaseOptions: ParsableArguments {
    @Option(
        name: .long,
        help: ArgumentHelp(
            "libpq connection string or URI of an existing PostgreSQL, as the runtime role the daemon serves as (also INCIDENT_DATABASE_URL; libpq's PG* variables work as usual).",
            valueName: "conninfo"))
    var databaseURL: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The same database as its owner, who runs the migrations (also INCIDENT_MIGRATION_DATABASE_URL); serve uses it only at start.",
            valueName: "conninfo"))
    var migrationDatabaseURL: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "Directory of the embedded PostgreSQL cluster, used when no database is configured (default $XDG_DATA_HOME/incident-log, /var/lib/incident-log for root).",
            valueName: "path"))
    var dataDir: String?

    @Option(
        name: .long,
        help: ArgumentHelp(
            "The master key file (32 bytes, mode 0600) that wraps every key the database stores (also INCIDENT_MASTER_KEY_FILE). Default with the embedded database: <data-dir>/master.key, created on first start; an external database needs one (incidentd keys init).",
            valueName: "file"))
    var masterKeyFile: String?

    /// The configured external database, if any.
    var externalConninfo: String? {
        if let databaseURL, !databaseURL.isEmpty { return databaseURL }
        let environment = ProcessInfo.processInfo.environment
        if let url = environment["INCIDENT_DATABASE_URL"], !url.isEmpty { return url }
        // libpq's own variables name a server: use it as configured.
        if environment["PGHOST"] != nil || environment["PGDATABASE"] != nil || environment["PGSERVICE"] != nil { return "" }
        return nil
    }

    /// The owner's connection to the external database, when configured apart.
    var migrationConninfo: String? {
        if let migrationDatabaseURL, !migrationDatabaseURL.isEmpty { return migrationDatabaseURL }
        if let url = ProcessInfo.processInfo.environment["INCIDENT_MIGRATION_DATABASE_URL"], !url.isEmpty { return url }
        return nil
    }

    /// An external database is configured (the runtime role's, the owner's or both).
    var isExternal: Bool { externalConninfo != nil || migrationConninfo != nil }

    /// The master key file: the one configured, else the embedded database's default (which may
    /// be created). Keep it apart from database backups: whoever holds both holds everything.
    /// - Throws: `ValidationError` for an external database without one.
    func masterKeySource() throws -> MasterKeySource {
        let environment = ProcessInfo.processInfo.environment
        if let path = masterKeyFile ?? environment["INCIDENT_MASTER_KEY_FILE"], !path.isEmpty {
            return MasterKeySource(path: path, mayCreate: false)
        }
        guard !isExternal else {
            throw ValidationError(
                "an external database needs a master key: create one with `incidentd keys init --master-key-file FILE`, then give --master-key-file FILE (or INCIDENT_MASTER_KEY_FILE)"
            )
        }
        return MasterKeySource(path: resolvedDataDirectory + "/master.key", mayCreate: true)
    }

    var resolvedDataDirectory: String {
        if let dataDir, !dataDir.isEmpty { return dataDir }
        if geteuid() == 0 { return "/var/lib/incident-log" }
        let environment = ProcessInfo.processInfo.environment
        if let xdg = environment["XDG_DATA_HOME"], !xdg.isEmpty { return xdg + "/incident-log" }
        return (environment["HOME"] ?? FileManager.default.homeDirectoryForCurrentUser.path) + "/.local/share/incident-log"
    }
}

/// Where the master key is, and whether it is the embedded database's default (made on first start).
struct MasterKeySource: Sendable {
    let path: String
    let mayCreate: Bool

    /// The erasure ledger beside the key.
    var ledger: ErasureLedger { ErasureLedger(path: path + ".erasures") }

    /// Loads the key, creating the default one when it is not there yet.
    func load(logger: Logger) throws -> KeyRing {
        do {
            return KeyRing(try MasterKey.load(path: path))
        } catch MasterKeyError.missing where mayCreate {
            // The data directory, as the embedded cluster makes it (its server must traverse it).
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true,
                attributes: [.posixPermissions: 0o755])
            let key = try MasterKey.create(path: path)
            logger.notice("created the master key; back it up apart from the database", metadata: ["key.path": "\(path)", "key.id": "\(key.id)"])
            return KeyRing(key)
        } catch let error as MasterKeyError {
            throw ValidationError(error.description)
        }
    }
}

extension Database {
    /// For one-shot commands (`migrate`, `token`, `demo`): opens the database, applies migrations
    /// as the owner (``prepare(logger:)``), runs `body` with a pool that works as the serving
    /// connections do (as `incident_app`), then closes the pool and stops the embedded cluster only
    /// if this process started it (a running daemon keeps its database).
    /// - Parameters:
    ///   - asOwner: `body` works as the owner (key rotation re-wraps keys the runtime role may only read).
    ///   - keys: run before `body` as ``Database/prepare(logger:keys:)`` runs it.
    static func withMigratedPool<T: Sendable>(
        _ options: DatabaseOptions, logLevel: Logger.Level = .warning, asOwner: Bool = false,
        keys: ((ConnectionPool, Logger) async throws -> Void)? = nil, _ body: (ConnectionPool, Logger) async throws -> T
    ) async throws -> T {
        var logger = Logger(label: "incidentd")
        logger.logLevel = logLevel
        let db = try await Database.open(options, logger: logger)
        let sessions: ServingSessions
        do {
            sessions = try await db.prepare(logger: logger, keys: keys.map { keys in { [logger] in try await keys($0, logger) } })
            if asOwner && sessions.ownerConninfo == nil {
                throw ValidationError("this needs the database owner: give its URL as --migration-database-url (or INCIDENT_MIGRATION_DATABASE_URL)")
            }
        } catch {
            await db.stopEmbedded(logger: logger, onlyIfStartedHere: true)
            throw error
        }
        let pool =
            asOwner
            ? ConnectionPool(configuration: .init(conninfo: sessions.ownerConninfo!, maxConnections: 2), logger: logger)
            : ConnectionPool(configuration: .init(conninfo: db.conninfo, maxConnections: 2, setupStatements: sessions.setupStatements), logger: logger)
        do {
            let result = try await body(pool, logger)
            await pool.close()
            await db.stopEmbedded(logger: logger, onlyIfStartedHere: true)
            return result
        } catch {
            await pool.close()
            await db.stopEmbedded(logger: logger, onlyIfStartedHere: true)
            throw error
        }
    }
}
