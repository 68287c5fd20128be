import Foundation
import PostgresLibpq
import Testing

@testable import IncidentStore

@Suite("Embedded migrations")
struct EmbeddedMigrationTests {
    @Test("the binary's migrations are exactly Migrations/*.sql (run scripts/embed-migrations after an edit)")
    func matchesFiles() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let directory = root.appendingPathComponent("Migrations")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(Migration.all.map(\.name) == files)
        for migration in Migration.all {
            let text = try String(contentsOf: directory.appendingPathComponent(migration.name), encoding: .utf8)
            #expect(migration.sql == text, "\(migration.name) differs from its embedded copy")
        }
        #expect(Migration.all.map(\.version) == Array(1...Migration.all.count), "numbered without gaps")
    }
}
