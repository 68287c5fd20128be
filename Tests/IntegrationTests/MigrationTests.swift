import Foundation
import IncidentStore
import IncidentTesting
import Logging
import Testing

@Suite("Migrations")
struct MigrationTests {
    let logger = Logger(label: "test")

    @Test("applying twice applies nothing the second time")
    func idempotent() async throws {
        try await TestDatabase.with(migrated: false) { db in
            let first = try await Migrator().migrate(db.pool, logger: logger)
            #expect(first == Migration.all.map(\.name))
            let second = try await Migrator().migrate(db.pool, logger: logger)
            #expect(second.isEmpty)
            let recorded: Int = try await db.pool.withConnection { try $0.query("SELECT count(*) FROM schema_migrations").first!.decode(0) }
            #expect(recorded == Migration.all.count)
        }
    }

    @Test("four migrators at once apply each file exactly once")
    func concurrentMigrators() async throws {
        try await TestDatabase.with(migrated: false) { db in
            let pools = (0..<4).map { _ in ConnectionPool(configuration: .init(conninfo: db.conninfo, maxConnections: 1)) }
            let applied = try await withThrowingTaskGroup(of: [String].self) { group in
                for pool in pools { group.addTask { try await Migrator().migrate(pool, logger: logger) } }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            for pool in pools { await pool.close() }
            #expect(applied.sorted() == Migration.all.map(\.name).sorted(), "every file once across all migrators")
            let rows: [String] = try await db.pool.withConnection { try $0.query("SELECT name FROM schema_migrations ORDER BY version").rows.map { try $0.decode(0) } }
            #expect(rows == Migration.all.map(\.name))
        }
    }

    @Test("an applied migration whose file was edited is refused, naming the file")
    func editedMigrationRefused() async throws {
        try await TestDatabase.with { db in
            var edited = Migration.all
            edited[0] = Migration(name: edited[0].name, sql: edited[0].sql + "\n-- an innocent-looking edit\n")
            let error = await #expect(throws: MigrationError.self) {
                try await Migrator(migrations: edited).migrate(db.pool, logger: logger)
            }
            #expect(error.map { "\($0)" }?.contains("0001_events.sql") == true)
        }
    }

    @Test("a failing migration is rolled back whole and recorded as not applied")
    func failingMigrationRollsBack() async throws {
        try await TestDatabase.with { db in
            let broken = Migration.all + [Migration(name: "9999_broken.sql", sql: "CREATE TABLE half_done (id int);\nSELECT * FROM no_such_table;")]
            await #expect(throws: DatabaseError.self) {
                try await Migrator(migrations: broken).migrate(db.pool, logger: logger)
            }
            let exists: Bool = try await db.pool.withConnection { try $0.query("SELECT to_regclass('half_done') IS NOT NULL").first!.decode(0) }
            #expect(!exists)
            let pending = try await db.pool.withConnection { try Migrator(migrations: broken).pendingMigrations($0) }
            #expect(pending.map(\.name) == ["9999_broken.sql"])
        }
    }

    @Test("regions and taxonomy are seeded")
    func seeds() async throws {
        try await TestDatabase.with { db in
            let (regions, taxonomy) = try await db.pool.withConnection { connection in
                (try RegionDirectory.load(connection), try Taxonomy.load(connection))
            }
            #expect(regions.districts.count == 7)
            #expect(regions.municipalities.count == 38)
            #expect(regions.municipality(code: "XK-MIT-07")?.displayName == "Zubin Potok")
            #expect(regions.municipality(code: "XK-PEJ-01")?.displayName == "Pejë/Peć")
            #expect(taxonomy.categories.map(\.code) == ["ethnic_violence", "trafficking", "return_obstacle", "access_security", "unrest", "explosives", "sexual_violence", "other"])
            #expect(taxonomy.categories.flatMap(\.subcategories).count == 33)
            #expect(taxonomy.subcategory("human_trafficking", of: "trafficking")?.forcedSensitivity == .confidential)
            #expect(taxonomy.subcategory("sexual_violence", of: "sexual_violence")?.forcedSensitivity == .confidential)
        }
    }
}
