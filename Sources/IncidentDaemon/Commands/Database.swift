import ArgumentParser
import Foundation
import IncidentStore
import Logging
import PostgresLibpq

/// The database incidentd uses, opened and (for the embedded cluster) started.
struct Database: Sendable {
    static let embeddedDatabaseName = "incident_log"

    /// Connection info for the incident database as the role the daemon serves as: the embedded
    /// cluster's runtime role, or `--database-url` (the owner's when it is the only URL given).
    let conninfo: String
    /// Connection info as the owner, who runs migrations: the embedded cluster's superuser, or
    /// `--migration-database-url`. Nil when one external URL serves for both (`prepare` decides).
    let ownerConninfo: String?
    /// The embedded cluster, when incidentd manages one.
    let cluster: LocalCluster?
    /// True when this process started the embedded cluster (it was not running already).
    var startedHere = false

    /// Starts the embedded cluster when no external database is configured, and makes sure the
    /// incident database exists in it.
    static func open(_ options: DatabaseOptions, logger: Logger) async throws -> Database {
        if options.isExternal {
            let owner = options.migrationConninfo
            return Database(conninfo: options.externalConninfo ?? owner!, ownerConninfo: owner, cluster: nil)
        }
        let root = options.resolvedDataDirectory
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let cluster = try LocalCluster(dataDirectory: root + "/postgres")
        let wasRunning = try await onOwnThread { cluster.isRunning() }
        try await onOwnThread { try cluster.start(logger: logger) }
        let admin = ConnectionPool(configuration: .init(conninfo: cluster.conninfo(), maxConnections: 1), logger: logger)
        do {
            try await admin.withConnection { connection in
                let exists = try connection.query("SELECT count(*) FROM pg_database WHERE datname = $1", [embeddedDatabaseName]).first?.decode(0, as: Int.self) ?? 0
                if exists == 0 {
                    try connection.execute("CREATE DATABASE \(embeddedDatabaseName)")
                }
            }
        } catch {
            await admin.close()
            throw error
        }
        await admin.close()
        return Database(
            conninfo: cluster.conninfo(database: embeddedDatabaseName, user: DatabaseRoles.runtime),
            ownerConninfo: cluster.conninfo(database: embeddedDatabaseName), cluster: cluster, startedHere: !wasRunning
        )
    }

    func stopEmbedded(logger: Logger, onlyIfStartedHere: Bool = false) async {
        guard let cluster, startedHere || !onlyIfStartedHere else { return }
        do {
            try await onOwnThread { try cluster.stop(logger: logger) }
        } catch {
            logger.error("could not stop the embedded PostgreSQL", metadata: ["error": "\(error)"])
        }
    }
}

extension Database {
    /// Runs `body` again while the database does not answer (or answers from a standby), for up
    /// to 60 s when its connection string names several hosts: a start during a failover waits
    /// for the new primary instead of exiting. With one host (or the embedded cluster) a database
    /// out of reach is more likely a mistake, reported at once.
    func whilePrimaryUnreachable<T: Sendable>(logger: Logger, _ body: () async throws -> T) async throws -> T {
        let hosts = (try? ConnectionString.parse(ownerConninfo ?? conninfo).first { $0.key == "host" || $0.key == "hostaddr" }?.value) ?? nil
        let patience: Duration = (hosts?.contains(",") ?? false) ? .seconds(60) : .zero
        let deadline = ContinuousClock.now + patience
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch let error as DatabaseError where error.isConnectionFailure && ContinuousClock.now < deadline {
                attempt += 1
                if attempt == 1 { logger.warning("the database primary does not answer; waiting for it", metadata: ["error": "\(error)"]) }
                try await Task.sleep(for: .seconds(min(attempt, 5)))
            }
        }
    }
}
