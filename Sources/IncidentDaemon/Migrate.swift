import Foundation
import ArgumentParser
import IncidentStore
import Logging

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending migrations and exit.",
        discussion: "Each migration runs in one transaction under an advisory lock; an applied migration whose file changed is refused."
    )

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        var logger = Logger(label: "incidentd")
        logger.logLevel = .info
        let db = try await Database.open(database, logger: logger)
        let pool = ConnectionPool(configuration: .init(conninfo: db.conninfo, maxConnections: 1), logger: logger)
        do {
            let applied = try await Migrator().migrate(pool, logger: logger)
            logger.info("migrations current", metadata: ["db.applied": "\(applied.count)", "db.total": "\(Migrator().migrations.count)"])
        } catch {
            await pool.close()
            await db.stopEmbedded(logger: logger)
            throw ValidationError("migration failed: \(error)")
        }
        await pool.close()
        await db.stopEmbedded(logger: logger)
    }
}
