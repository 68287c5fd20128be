import ArgumentParser
import Foundation
import IncidentStore
import Logging
import PostgresLibpq

/// `incidentd restore DUMP`: a backup made with pg_dump, restored into a new embedded cluster.
struct Restore: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Restore a pg_dump backup into a new embedded cluster.",
        discussion: """
            DUMP is a dump of the incident database made with `pg_dump --format=custom` (see
            docs/operations.md, Backups). The data directory must not hold a cluster yet. Creates
            the cluster, restores the dump in one transaction, and moves the new cluster's
            transaction counter past the transaction ids stored in the log: readers and
            projections go by them, and a new cluster counts from a few hundred, so without this
            the events appended after the restore would never be read. Then run
            `incidentd serve --data-dir` on the same directory. For an external PostgreSQL,
            docs/operations.md gives the same steps by hand.
            """
    )

    @Argument(help: ArgumentHelp("The dump (pg_dump --format=custom).", valueName: "dump")) var dump: String
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let logger = {
            var logger = Logger(label: "incidentd")
            logger.logLevel = .info
            return logger
        }()
        guard !database.isExternal else {
            throw ValidationError("restore makes a new embedded cluster; for an external database follow docs/operations.md (Backups)")
        }
        guard FileManager.default.isReadableFile(atPath: dump) else { throw ValidationError("cannot read the dump \(dump)") }
        let dump = URL(fileURLWithPath: dump).standardizedFileURL.path
        let root = database.resolvedDataDirectory
        let cluster = try LocalCluster(dataDirectory: root + "/postgres")
        guard !cluster.isInitialized else {
            throw ValidationError("\(root) holds a cluster already; restore into a new data directory (--data-dir)")
        }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try await onOwnThread { try cluster.start(logger: logger) }
        do {
            try await restore(dump, into: cluster, logger: logger)
        } catch {
            try? await onOwnThread { try cluster.stop(logger: logger) }
            throw error
        }
        try await onOwnThread { try cluster.stop(logger: logger) }
        logger.info("restored; start it with: incidentd serve --data-dir \(root)")
    }

    private func restore(_ dump: String, into cluster: LocalCluster, logger: Logger) async throws {
        let name = Database.embeddedDatabaseName
        let admin = ConnectionPool(configuration: .init(conninfo: cluster.conninfo(), maxConnections: 1), logger: logger)
        try await admin.withConnection { connection in
            // Roles are not in a database's dump; the grants to the daemon's role are.
            try connection.execute("DO $$ BEGIN CREATE ROLE incident_app NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
            try connection.execute("CREATE DATABASE \(name)")
        }
        await admin.close()
        logger.info("restoring", metadata: ["dump": "\(dump)"])
        _ = try await onOwnThread {
            try cluster.runClient(
                "pg_restore", ["--no-owner", "--exit-on-error", "--single-transaction", "--dbname", cluster.conninfo(database: name), dump],
                what: "restore \(dump) (pg_restore)")
        }

        let pool = ConnectionPool(configuration: .init(conninfo: cluster.conninfo(database: name), maxConnections: 1), logger: logger)
        let (events, highest) = try await pool.withConnection { connection in
            (try LogReads.count(on: connection), try LogReads.highestTransactionID(on: connection))
        }
        await pool.close()
        try await onOwnThread { try cluster.stop(logger: logger) }
        _ = try await onOwnThread { try cluster.advanceTransactionIDs(past: highest, logger: logger) }
        try await onOwnThread { try cluster.start(logger: logger) }

        // Check what the daemon will rely on, bring the schema up to this build's, and apply the
        // erasure ledger: what was erased after the backup was made stays erased.
        let check = ConnectionPool(configuration: .init(conninfo: cluster.conninfo(database: name), maxConnections: 1), logger: logger)
        do {
            try await Migrator().migrate(check, logger: logger)
            try await check.withConnection { connection in try LogClock.check(on: connection) }
            let source = try await masterKey(for: check)
            try await prepareKeys(try source.load(logger: logger), source: source, on: check, logger: logger)
        } catch {
            await check.close()
            throw error
        }
        await check.close()
        logger.info("restored the incident log", metadata: ["events": "\(events)", "db.xid.highest_in_log": "\(highest)"])
    }

    /// The master key of the restored keys. Without --master-key-file the new data directory's
    /// own (made when the backup holds no wrapped key yet). Given one, it and its ledger are
    /// copied into the new data directory, where `serve --data-dir` looks for them.
    private func masterKey(for pool: ConnectionPool) async throws -> MasterKeySource {
        let source = try database.masterKeySource()
        let own = database.resolvedDataDirectory + "/master.key"
        let wrappedBy: String? = try await pool.withConnection { try $0.query("SELECT current_key_id FROM master_key_state").first?.decode(0) }
        if let wrappedBy, source.mayCreate, !FileManager.default.fileExists(atPath: source.path) {
            throw ValidationError("the backup's keys are wrapped by master key \(wrappedBy): give that key file as --master-key-file (its erasure ledger is applied too)")
        }
        if !source.mayCreate && !FileManager.default.fileExists(atPath: own) {
            try FileManager.default.copyItem(atPath: source.path, toPath: own)
            if FileManager.default.fileExists(atPath: source.ledger.path) {
                try FileManager.default.copyItem(atPath: source.ledger.path, toPath: own + ".erasures")
            }
        }
        return source
    }
}
