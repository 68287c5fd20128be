import ArgumentParser
import Foundation
import IncidentStore
import Logging

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Apply pending migrations and exit.",
        discussion: "Each migration runs in one transaction under an advisory lock; an applied migration whose file changed is refused."
    )

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        do {
            try await Database.withMigratedPool(database, logLevel: .info) { _, logger in
                logger.info("migrations current", metadata: ["db.total": "\(Migrator().migrations.count)"])
            }
        } catch let error as MigrationError {
            throw ValidationError("migration refused: \(error)")
        }
    }
}
