import Foundation
import IncidentStore
import IncidentTesting
import Logging
import PostgresLibpq
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

    @Test("the week tables start as their day tables added up by ISO week")
    func weekTablesFilled() async throws {
        try await TestDatabase.with(migrated: false) { db in
            let before = Migration.all.filter { $0.name < "0012" }
            try await Migrator(migrations: before).migrate(db.pool, logger: logger)
            // Day buckets as a projector before 0012 left them: a Sunday and the Monday after, two weeks.
            try await db.pool.withConnection { connection in
                try connection.execute(
                    """
                    INSERT INTO region_summary VALUES
                        ('2026-11-22', 'XK-PRI-01', 'XK-PRI', 'unrest', 2, 1, 0, 3, 0, 0),
                        ('2026-11-16', 'XK-PRI-01', 'XK-PRI', 'unrest', 1, 0, 1, 0, 0, 0),
                        ('2026-11-23', 'XK-PRI-01', 'XK-PRI', 'unrest', 4, 0, 0, 0, 2, 7),
                        ('2026-11-22', 'XK-PRI-02', 'XK-PRI', 'unrest', 1, 0, 0, 0, 0, 0);
                    INSERT INTO region_summary_district
                    SELECT day, district, category, sum(incidents), sum(verified), sum(killed), sum(injured), sum(abducted), sum(displaced)
                    FROM region_summary GROUP BY 1, 2, 3
                    """)
            }
            try await Migrator().migrate(db.pool, logger: logger)
            let weeks: [String] = try await db.pool.withConnection { connection in
                try connection.query(
                    """
                    SELECT concat_ws(' ', week, municipality, incidents, verified, killed, injured, abducted, displaced) FROM region_summary_week
                    UNION ALL
                    SELECT concat_ws(' ', week, district, incidents, verified, killed, injured, abducted, displaced) FROM region_summary_district_week
                    ORDER BY 1
                    """
                ).rows.map { try $0.decode(0) }
            }
            #expect(
                weeks == [
                    "2026-11-16 XK-PRI 4 1 1 3 0 0", "2026-11-16 XK-PRI-01 3 1 1 3 0 0", "2026-11-16 XK-PRI-02 1 0 0 0 0 0",
                    "2026-11-23 XK-PRI 4 0 0 0 2 7", "2026-11-23 XK-PRI-01 4 0 0 0 2 7",
                ])
        }
    }

    @Test("0014 drops the district index of incidents and of its shadow, after swaps and from the stash")
    func districtIndexDropped() async throws {
        try await TestDatabase.with(migrated: false) { db in
            try await Migrator(migrations: Migration.all.filter { $0.name < "0014" }).migrate(db.pool, logger: logger)
            // As a rebuild leaves them: swapped (the tables trade names, the indexes keep theirs),
            // then a bulk load that died with the shadow's indexes stashed.
            @Sendable func indexes(_ connection: PostgresConnection) throws -> [String] {
                try indexDefinitions(of: ["incidents", "incidents_shadow"], on: connection)
            }
            let before = try await db.pool.withConnection { connection in
                try connection.query("SELECT swap_read_model('incidents')")
                let before = try indexes(connection)
                try connection.query("SELECT shadow_indexes_drop('incidents_shadow')")
                return before
            }
            #expect(before.filter { $0.contains("(district, occurred_day)") }.count == 2)
            try await Migrator(migrations: Migration.all.filter { $0.name < "0015" }).migrate(db.pool, logger: logger)
            let after = try await db.pool.withConnection { connection in
                while try connection.query("SELECT shadow_indexes_restore('incidents_shadow')").first!.decode(0, as: Bool.self) {}
                return try indexes(connection)
            }
            #expect(after == before.filter { !$0.contains("(district, occurred_day)") })
            #expect(after.count == 10, "the key and four indexes on each table")
        }
    }

    @Test("shadows are left out of autovacuum, and a swap hands the setting over with the names")
    func shadowsWithoutAutovacuum() async throws {
        try await TestDatabase.with { db in
            @Sendable func withoutAutovacuum(_ connection: PostgresConnection) throws -> [String] {
                try connection.query(
                    """
                    SELECT relname FROM pg_class
                    WHERE relnamespace = 'public'::regnamespace AND 'autovacuum_enabled=false' = ANY(reloptions) ORDER BY 1
                    """
                ).rows.map { try $0.decode(0) }
            }
            let shadows: [String] = try await db.pool.withConnection { connection in
                try connection.query("SELECT name || '_shadow' FROM read_model_tables ORDER BY 1").rows.map { try $0.decode(0) }
            }
            #expect(shadows.count == 7)
            let (before, after) = try await db.pool.withConnection { connection in
                let before = try withoutAutovacuum(connection)
                _ = try connection.transaction { try $0.query("SELECT swap_read_model('incidents')") }
                return (before, try withoutAutovacuum(connection))
            }
            #expect(before == shadows)
            #expect(after == shadows, "the same names: the table swapped out took the setting, the one swapped in lost it")
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
            #expect(
                taxonomy.categories.map(\.code) == [
                    "ethnic_violence", "trafficking", "return_obstacle", "access_security", "unrest", "explosives", "sexual_violence", "other",
                ])
            #expect(taxonomy.categories.flatMap(\.subcategories).count == 33)
            #expect(taxonomy.subcategory("human_trafficking", of: "trafficking")?.forcedSensitivity == .confidential)
            #expect(taxonomy.subcategory("sexual_violence", of: "sexual_violence")?.forcedSensitivity == .confidential)
        }
    }
}
