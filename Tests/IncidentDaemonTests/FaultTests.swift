import Foundation
import IncidentStore
import IncidentTesting
import Logging
import PostgresLibpq
import Synchronization
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Things going wrong on purpose: the daemon killed under load, the database restarted under load,
/// `ictl outbox sync` killed mid-sync. Each ends by counting, in the log itself, that every
/// acknowledged report is there exactly once.
@Suite("Faults: kill -9, database restart, ictl killed mid-sync")
struct FaultTests {
    @Test("incidentd killed -9 twice under 8 concurrent reporters: every acknowledged report stored once, summaries equal the log")
    func daemonKilledUnderLoad() async throws {
        try await TestDatabase.with { db in
            let tokens = AccessTokens(pool: db.pool)
            let reporter = try await tokens.create(name: "field", role: .reporter)
            let analyst = try await tokens.create(name: "analyst", role: .analyst)
            let port = TestPorts.free()
            var daemon = try Daemon(conninfo: db.conninfo, port: port)
            defer { daemon.stop() }  // the one running when the test ends
            try await daemon.ready()

            let reports = FieldReport.make(400)
            let ledger = Ledger()
            async let load: Void = drive(reports, clients: 8, port: port, token: reporter, ledger: ledger)

            // Two crashes, each while reports are in flight; the clients retry what got no answer.
            var faults = 0
            for threshold in [60, 200] {
                try await waitUntil("\(threshold) reports acknowledged") { ledger.acknowledged >= threshold }
                daemon.kill()
                faults += 1
                try await Task.sleep(for: .milliseconds(300))
                daemon = try Daemon(conninfo: db.conninfo, port: port)
                try await daemon.ready()
            }
            await load

            let figures = ledger.figures
            let stored = try await reportedCounts(db.pool)
            let lost = reports.filter { (stored[$0.stream] ?? 0) == 0 }.count
            let duplicated = reports.filter { (stored[$0.stream] ?? 0) > 1 }.count
            print(
                "fault figures (kill -9): \(reports.count) reports by 8 clients, \(figures.requests) requests, \(faults) kills, "
                    + "\(figures.acknowledged) acknowledged, \(figures.retried) retried after no answer or a 5xx, \(figures.replayed) answered as replays, "
                    + "lost \(lost), duplicated \(duplicated)")
            #expect(faults == 2)
            #expect(figures.acknowledged == reports.count, "every report was eventually acknowledged")
            #expect(figures.retried > 0, "the kills caught requests in flight")
            #expect(lost == 0 && duplicated == 0)
            #expect(stored.count == reports.count, "no report other than the ones sent")

            // The summaries the restarted daemon projected equal a recomputation from the log.
            try await settle(db.pool)
            let naive = try await NaiveFigures.compute(db.pool, regions: try await ReferenceData.load(db.pool).regions)
            #expect(try await projectedBuckets(db.pool, level: .municipality) == naive.buckets(level: .municipality))
            #expect(try await projectedBuckets(db.pool, level: .district) == naive.buckets(level: .district))
            let summary = await get(port, "/v1/summaries?level=district&since=2026-01-01&until=2026-12-31", token: analyst)
            let rows = summary.json?.objectValue?["rows"]?.arrayValue ?? []
            let incidents = rows.compactMap { $0.objectValue?["incidents"]?.numberValue }.reduce(0, +)
            #expect(summary.status == 200 && Int(incidents) == reports.count, "the API's summary counts every report once")
        }
    }

    @Test("PostgreSQL stopped and started under load: 503 with Retry-After while down, /readyz says so, service back within 5 s, nothing acknowledged lost")
    func databaseRestartUnderLoad() async throws {
        let root = FileManager.default.temporaryDirectory.path + "/incident-fault-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: root) }
        // A cluster of its own (durable, the defaults): stopping the tests' shared one would break the others.
        let cluster = try LocalCluster(dataDirectory: root + "/pg", settings: ["max_connections": "50"])
        let logger = Logger(label: "fault.cluster")
        defer { try? cluster.stop(logger: logger) }  // also after a start that failed halfway
        try await onOwnThread { try cluster.start(logger: logger) }  // initdb and pg_ctl block
        let pool = ConnectionPool(configuration: .init(conninfo: cluster.conninfo(), maxConnections: 2))
        try await Migrator().migrate(pool, logger: logger)
        let reporter = try await AccessTokens(pool: pool).create(name: "field", role: .reporter)

        let port = TestPorts.free()
        let daemon = try Daemon(conninfo: cluster.conninfo(), port: port)
        defer { daemon.stop() }
        try await daemon.ready()

        let reports = FieldReport.make(300)
        let ledger = Ledger()
        async let load: Void = drive(reports, clients: 4, port: port, token: reporter, ledger: ledger, pause: .milliseconds(20))

        try await waitUntil("40 reports acknowledged") { ledger.acknowledged >= 40 }
        // The outage and its probes run on a thread of their own, with blocking requests: with the
        // whole suite running, other tests' blocking work holds Swift's shared threads for seconds,
        // and on those threads that delay would be counted against the daemon's recovery.
        let outage = try await onOwnThread { try Outage.run(cluster: cluster, port: port, token: reporter, logger: logger) }
        #expect(
            outage.probes.allSatisfy { $0.status == 503 && $0.retryAfter != nil },
            "\(outage.probes.map { "\($0.status.map(String.init) ?? "no answer") \($0.retryAfter ?? "-")" })")
        #expect(outage.probes.allSatisfy { $0.elapsed < .seconds(5) }, "no request hangs while the database is down: \(outage.probes.map(\.elapsed))")
        #expect(outage.ready?.status == 503)
        #expect(daemon.process.isRunning)
        let recovered = outage.recovered
        await load
        let readyAgain = await get(port, "/readyz", token: nil)

        let figures = ledger.figures
        let stored = try await reportedCounts(pool)
        await pool.close()
        let lost = reports.filter { (stored[$0.stream] ?? 0) == 0 }.count
        let duplicated = reports.filter { (stored[$0.stream] ?? 0) > 1 }.count
        print(
            "fault figures (database restart): \(reports.count) reports by 4 clients, \(figures.requests) requests, database down \(outage.downFor), "
                + "\(figures.unavailable) answered 503 (\(figures.withoutRetryAfter) without Retry-After), \(figures.unanswered) unanswered, "
                + "service back \(recovered.map { "\($0)" } ?? "never") after the database, \(figures.acknowledged) acknowledged, lost \(lost), duplicated \(duplicated)")
        #expect(
            recovered != nil && recovered! <= .seconds(5), "service resumed \(String(describing: recovered)) after the database returned; probes: \(outage.afterReturn)")
        #expect(readyAgain.status == 200)
        #expect(figures.unavailable > 0 && figures.withoutRetryAfter == 0)
        #expect(figures.acknowledged == reports.count)
        #expect(lost == 0 && duplicated == 0)
        #expect(daemon.process.isRunning, "no daemon restart")
    }

    @Test("ictl outbox sync killed -9 at random points, again and again: no queued report lost or stored twice, none in plain text on disk")
    func outboxSyncKilled() async throws {
        try await TestDatabase.with { db in
            let reporter = try await AccessTokens(pool: db.pool).create(name: "laptop", role: .reporter)
            let port = TestPorts.free()
            let daemon = try Daemon(conninfo: db.conninfo, port: port)
            defer { daemon.stop() }
            try await daemon.ready()
            let home = FileManager.default.temporaryDirectory.appendingPathComponent("ictl-fault-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: home) }
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            let online = [
                "ICTL_SERVER": "http://127.0.0.1:\(port)", "ICTL_TOKEN": reporter, "ICTL_OUTBOX": home + "/outbox", "ICTL_CONFIG": home + "/config/ictl.json",
                "HOME": home,
            ]
            // Nothing listens on port 1: the laptop is offline.
            let offline = online.merging(["ICTL_SERVER": "http://127.0.0.1:1"]) { _, new in new }
            // Online once first: the outbox seals what it keeps to the server's key.
            let login = try await run(Binaries.ictl, ["login"], environment: online)
            #expect(login.status == 0, "\(login.stderr)")
            @Sendable func queued() -> Int { Self.queuedEntries(home) }

            var incidents: [String] = []
            var secrets: [String] = []
            var kills = 0, interrupted = 0
            try FileManager.default.createDirectory(atPath: home + "/reports", withIntermediateDirectories: true)
            for round in 0..<6 {
                let queuedNow = try await Self.queueFifteenOffline(round: round, home: home, offline: offline)
                incidents += queuedNow.incidents
                secrets += queuedNow.secrets
                let found = disclosures(of: secrets, under: [home + "/outbox", home + "/config"])
                #expect(found.isEmpty, "plain text on disk: \(found.prefix(3))")
                let syncs = try await Self.syncsKilledAgainAndAgain(home: home, online: online)
                kills += syncs.kills
                interrupted += syncs.interrupted
            }
            let final = try await run(Binaries.ictl, ["outbox", "sync"], environment: online)
            #expect(final.status == 0, "\(final.stderr)")
            let rejected = (try? FileManager.default.contentsOfDirectory(atPath: home + "/outbox/rejected")) ?? []

            let stored = try await reportedCounts(db.pool)
            let lost = incidents.filter { (stored["incident-" + $0] ?? 0) == 0 }.count
            let duplicated = incidents.filter { (stored["incident-" + $0] ?? 0) > 1 }.count
            print(
                "fault figures (outbox): \(incidents.count) reports queued offline, \(kills) syncs killed -9 (\(interrupted) mid-queue), "
                    + "left queued \(queued()), rejected \(rejected.count), lost \(lost), duplicated \(duplicated)")
            #expect(interrupted >= 3, "some kills landed mid-sync (else this test proves little)")
            #expect(queued() == 0 && rejected.isEmpty)
            #expect(disclosures(of: secrets, under: [home + "/outbox", home + "/config"]).isEmpty)
            #expect(lost == 0 && duplicated == 0)
            #expect(stored.count == incidents.count)
        }
    }

    /// The entries waiting in the outbox under `home`.
    private static func queuedEntries(_ home: String) -> Int {
        ((try? FileManager.default.contentsOfDirectory(atPath: home + "/outbox")) ?? []).filter { $0.hasSuffix(".json") }.count
    }

    /// Fifteen reports with names in their summary and personal data, queued offline (75);
    /// returns their incident ids and the names.
    private static func queueFifteenOffline(round: Int, home: String, offline: [String: String]) async throws -> (incidents: [String], secrets: [String]) {
        var incidents: [String] = []
        var secrets: [String] = []
        for index in 0..<15 {
            let report = FieldReport.make(1)[0]
            // A name in the summary and in `personal`, which must never be on disk in plain.
            let victim = "Shpresa Morina-Faultvictim\(round)x\(index)", named = "Ilir Dema-Faultsummary\(round)x\(index)"
            secrets += [victim, named]
            var fields = try #require(try JSONValue.parse(report.fileBody).objectValue)
            fields["summary"] = .string("\(named) saw the houses of returnees damaged at night.")
            fields["personal"] = ["victims": [["name": .string(victim)]]]
            let file = home + "/reports/report-\(round)-\(index).json"
            try JSONValue.object(fields).encoded().write(to: URL(fileURLWithPath: file))
            let result = try await run(Binaries.ictl, ["report", "--file", file], environment: offline)
            #expect(result.status == 75, "queued offline: \(result.stderr)")
            incidents.append(report.incidentID)
        }
        return (incidents, secrets)
    }

    /// `ictl outbox sync` started and killed -9 up to eight times while entries are queued: at a
    /// random moment, or right after it delivered one. Returns the kills, and those that left
    /// some entries sent and some queued.
    private static func syncsKilledAgainAndAgain(home: String, online: [String: String]) async throws -> (kills: Int, interrupted: Int) {
        @Sendable func queued() -> Int { Self.queuedEntries(home) }
        // The kills and the waits between them block: on a thread of their own, not on
        // the two threads the whole suite shares.
        return try await onOwnThread { [online] in
            var kills = 0, interrupted = 0
            for attempt in 0..<8 where queued() > 0 {
                let before = queued()
                let sync = Process()
                sync.executableURL = URL(fileURLWithPath: Binaries.ictl)
                sync.arguments = ["outbox", "sync"]
                sync.environment = ProcessInfo.processInfo.environment.merging(online) { _, new in new }
                sync.standardOutput = FileHandle.nullDevice
                sync.standardError = FileHandle.nullDevice
                try sync.run()
                if attempt.isMultiple(of: 2) {
                    // Anywhere: before it starts sending, mid-queue, or after.
                    usleep(UInt32.random(in: 10_000...200_000))
                } else {
                    // Right after it delivered something: mid-queue for sure, wherever in a send.
                    let deadline = ContinuousClock.now + .seconds(5)
                    while queued() == before && sync.isRunning && ContinuousClock.now < deadline { usleep(500) }
                    usleep(UInt32.random(in: 0...3_000))
                }
                kill(sync.processIdentifier, SIGKILL)
                sync.waitUntilExit()
                kills += 1
                // Killed before it finished, after it had begun sending (some sent, some left).
                if sync.terminationReason == .uncaughtSignal && queued() < before && queued() > 0 { interrupted += 1 }
            }
            return (kills: kills, interrupted: interrupted)
        }
    }
}
