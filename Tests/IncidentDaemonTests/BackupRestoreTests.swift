import Foundation
import IncidentStore
import IncidentTesting
import Logging
import PostgresLibpq
import Testing

@Suite("Backup and restore: pg_dump, then a new cluster")
struct BackupRestoreTests {
    @Test("a populated log dumped and restored into a new cluster: consumers and projections read every event, and the appends after it")
    func restoreIntoNewCluster() async throws {
        let scratch = FileManager.default.temporaryDirectory.path + "/incident-restore-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: scratch) }
        let dump = scratch + "/incidents.dump"

        // The source: a cluster that has run a long time (its transaction counter in epoch 3, as
        // after 12 billion transactions), a log written through the daemon, projected, and a
        // consumer's checkpoint part-way.
        let logger = Logger(label: "restore-test")
        let source = try LocalCluster(dataDirectory: scratch + "/source")
        // initdb, pg_ctl, pg_dump and pg_restore block: each on a thread of its own, off the two
        // threads the whole suite shares.
        defer { try? source.stop(logger: logger) }
        let advanced = try await onOwnThread {
            try source.start(logger: logger)
            try source.stop(logger: logger)
            let moved = try source.advanceTransactionIDs(past: 2 << 32, logger: logger)
            try source.start(logger: logger)
            return moved
        }
        #expect(advanced != nil)
        let pool = ConnectionPool(configuration: .init(conninfo: source.conninfo(), maxConnections: 2))
        try await Migrator().migrate(pool, logger: logger)
        let tokens = AccessTokens(pool: pool)
        let admin = try await tokens.create(name: "admin", role: .admin)
        let analyst = try await tokens.create(name: "analyst", role: .analyst)
        let (sourceEvents, sourceSummary, midway, afterMidway) = try await Self.readThroughTheDaemon(source, pool: pool, admin: admin, analyst: analyst, dumpingTo: dump)
        await pool.close()
        #expect(sourceEvents.count == 40 && afterMidway.count == 25)

        // A restore by hand, without moving the counter, is refused at start rather than run
        // into appends that would never be read.
        try await Self.restoreByHandIsRefused(scratch: scratch, dump: dump, logger: logger)

        // `incidentd restore` into a new data directory, then serve it.
        let data = scratch + "/restored"
        let restored = try await run(Binaries.incidentd, ["restore", dump, "--data-dir", data, "--master-key-file", TestKeys.file], environment: [:])
        #expect(restored.status == 0, "\(restored.stderr)")
        #expect(restored.stderr.contains("moved the cluster's transaction counter"), "\(restored.stderr)")
        let port = TestPorts.free()
        let daemon = try Daemon(conninfo: nil, port: port, arguments: ["--data-dir", data])
        defer { daemon.stop() }
        try await daemon.ready()

        // Every event, in the same order; a consumer's checkpoint from before the dump still holds.
        let events = try await readLog(port, token: admin)
        #expect(events == sourceEvents)
        #expect(try await readLog(port, token: admin, after: midway) == afterMidway)
        let summary = await get(port, "/v1/summaries?level=municipality&since=2026-01-01&until=2026-12-31", token: analyst).json?.objectValue?["rows"]
        #expect(summary == sourceSummary && summary != nil)

        // Appends after the restore: stored, projected, and read after the restored ones.
        try await Self.appendsAfterTheRestoreAreReadAndProjected(port: port, admin: admin, analyst: analyst)
    }

    /// Forty reports through a daemon on `source`, projected; the log, a checkpoint part-way, the log after it and a summary as they read; then the dump.
    private static func readThroughTheDaemon(
        _ source: LocalCluster, pool: ConnectionPool, admin: String, analyst: String, dumpingTo dump: String
    ) async throws -> ([String], JSONValue?, String, [String]) {
        let port = TestPorts.free()
        let daemon = try Daemon(conninfo: source.conninfo(), port: port)
        defer { daemon.stop() }
        try await daemon.ready()
        for report in FieldReport.make(40) { #expect(await post(port, token: admin, body: report.body).status == 201) }
        try await settle(pool)
        let highest: String = try await pool.withConnection { try $0.query("SELECT max(transaction_id)::text FROM events").first!.decode(0) }
        #expect((UInt64(highest) ?? 0) >> 32 == 3, "the log's transaction ids are in epoch 3: \(highest)")
        let sourceEvents = try await readLog(port, token: admin)
        let midway = try #require(await get(port, "/v1/events?limit=15", token: admin).json?.objectValue?["checkpoint"]?.stringValue)
        let afterMidway = try await readLog(port, token: admin, after: midway)
        let sourceSummary = await get(port, "/v1/summaries?level=municipality&since=2026-01-01&until=2026-12-31", token: analyst).json?.objectValue?["rows"]
        _ = try await onOwnThread {
            try source.runClient("pg_dump", ["--format=custom", "--file", dump, "--dbname", source.conninfo()], what: "dump the incident database")
        }
        return (sourceEvents, sourceSummary, midway, afterMidway)
    }

    /// pg_restore into a new cluster without moving its counter: incidentd refuses to serve it.
    private static func restoreByHandIsRefused(scratch: String, dump: String, logger: Logger) async throws {
        let naive = try LocalCluster(dataDirectory: scratch + "/naive")
        defer { try? naive.stop(logger: logger) }
        try await onOwnThread {
            try naive.start(logger: logger)
            _ = try naive.runClient(
                "psql", ["--dbname", naive.conninfo(), "-c", "CREATE ROLE incident_app NOLOGIN", "-c", "CREATE DATABASE incident_log"], what: "prepare")
            _ = try naive.runClient("pg_restore", ["--no-owner", "--exit-on-error", "--dbname", naive.conninfo(database: "incident_log"), dump], what: "restore")
        }
        let refused = try await run(
            Binaries.incidentd, ["serve", "--port", "1", "--database-url", naive.conninfo(database: "incident_log"), "--master-key-file", TestKeys.file],
            environment: [:], timeout: .seconds(30))
        #expect(refused.status != 0 && refused.stderr.contains("ahead of this PostgreSQL cluster's counter"), "\(refused.status) \(refused.stderr)")
        try await onOwnThread { try naive.stop(logger: logger) }
    }

    /// Ten reports after the restore: read after the restored events, and projected.
    private static func appendsAfterTheRestoreAreReadAndProjected(port: Int, admin: String, analyst: String) async throws {
        let checkpoint = try #require(await get(port, "/v1/events?limit=1000", token: admin).json?.objectValue?["checkpoint"]?.stringValue)
        let later = FieldReport.make(10)
        for report in later { #expect(await post(port, token: admin, body: report.body).status == 201) }
        // The newest events show once every transaction older than theirs has ended (the gapless
        // read): the projector's, applying the ones before, may still be running. Read until the
        // ten are there (a read right after the tenth's 201 may see nine).
        var appended: [String] = []
        for _ in 0..<100 {
            appended = try await readLog(port, token: admin, after: checkpoint)
            if appended.count >= later.count { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(appended == later.map(\.eventID), "the new events follow the restored ones")
        var counted = 0.0
        for _ in 0..<200 {
            let rows = await get(port, "/v1/summaries?level=district&since=2026-01-01&until=2026-12-31", token: analyst).json?.objectValue?["rows"]?.arrayValue ?? []
            counted = rows.compactMap { $0.objectValue?["incidents"]?.numberValue }.reduce(0, +)
            if counted == 50 { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        #expect(counted == 50, "the projections applied the appends made after the restore")
    }
}

/// Event ids of the whole log after `checkpoint`, read the way a consumer reads it (GET /v1/events, pages of 1000).
func readLog(_ port: Int, token: String, after checkpoint: String = "") async throws -> [String] {
    var ids: [String] = []
    var after = checkpoint
    while true {
        let page = await get(port, "/v1/events?limit=1000&after=" + after, token: token)
        let events = try #require(page.json?.objectValue?["events"]?.arrayValue, "GET /v1/events answered \(String(describing: page.status))")
        ids += events.compactMap { $0.objectValue?["event_id"]?.stringValue }
        after = page.json?.objectValue?["checkpoint"]?.stringValue ?? after
        if events.count < 1000 { return ids }
    }
}
