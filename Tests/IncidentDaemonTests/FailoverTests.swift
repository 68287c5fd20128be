import Foundation
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Synchronization
import Testing

/// High availability on a real Patroni cluster (scripts/patroni-cluster): the primary's PostgreSQL
/// killed under load, a planned switchover, reads from the standby. Each ends by counting, in
/// the log itself, what was stored.
@Suite("High availability: Patroni failover, reads from a standby", .serialized)
struct FailoverTests {
    @Test("the primary's PostgreSQL killed -9 under 16 reporters: writes resume without a restart, every acknowledged report stored once, summaries equal the log")
    func primaryKilled() async throws {
        try await writesSurvive("kill -9 of the primary's PostgreSQL") { "killed \(try await $0.script("kill-primary"))" }
    }

    @Test("a planned patronictl switchover under 16 reporters: the same")
    func plannedSwitchover() async throws {
        try await writesSurvive("patronictl switchover") { "new primary \(try await $0.script("switchover"))" }
    }

    /// 16 reporters with client-chosen ids retry until acknowledged while `fault` happens; the
    /// daemon, on a connection string naming both nodes, is never restarted.
    private func writesSurvive(_ fault: String, _ cause: (PatroniCluster.Running) async throws -> String) async throws {
        let cluster = try await PatroniCluster.shared.start()
        let db = try await cluster.database()
        let daemon = try Daemon(conninfo: db.conninfo, port: TestPorts.free(), arguments: ["--pool-size", "4"])
        defer { daemon.stop() }
        try await daemon.ready()
        let reporter = try await AccessTokens(pool: db.pool).create(name: "field", role: .reporter)

        let reports = FieldReport.make(800)
        let ledger = Ledger()
        async let load: Void = drive(reports, clients: 16, port: daemon.port, token: reporter, ledger: ledger, pause: .milliseconds(20))
        try await waitUntil("150 reports acknowledged") { ledger.acknowledged >= 150 }
        let faultAt = ContinuousClock.now
        let leaderNow = try await cause(cluster)
        await load

        let figures = ledger.figures
        let failures = figures.failedAt.filter { $0 >= faultAt }
        let outage = failures.last.map { $0 - failures[0] } ?? .zero
        let firstWrite = figures.acknowledgedAt.filter { $0 > (failures.first ?? faultAt) }.min().map { $0 - faultAt }
        let stored = try await reportedCounts(db.pool)
        let lost = reports.filter { (stored[$0.stream] ?? 0) == 0 }.count
        let duplicated = reports.filter { (stored[$0.stream] ?? 0) > 1 }.count
        print(
            "failover figures (\(fault): \(leaderNow)): \(reports.count) reports by 16 clients, \(figures.acknowledged) acknowledged, "
                + "\(figures.requests) requests, \(failures.count) failed answers after the fault (\(figures.unavailable) 503, \(figures.unanswered) unanswered), "
                + "outage seen by clients \(outage), first successful write \(firstWrite.map { "\($0)" } ?? "none") after the fault, "
                + "lost \(lost), duplicated \(duplicated)")
        #expect(daemon.process.isRunning, "the daemon was not restarted")
        #expect(figures.acknowledged == reports.count, "every report was eventually acknowledged")
        #expect(figures.withoutRetryAfter == 0, "every 503 said when to retry")
        #expect(lost == 0 && duplicated == 0)
        #expect(stored.count == reports.count, "no report other than the ones sent")

        // The projector, on its own connection, followed the primary and caught up.
        try await settle(db.pool)
        let naive = try await NaiveFigures.compute(db.pool, regions: try await ReferenceData.load(db.pool).regions)
        #expect(try await projectedBuckets(db.pool, level: .municipality) == naive.buckets(level: .municipality))
        #expect(try await projectedBuckets(db.pool, level: .district) == naive.buckets(level: .district))
        await db.pool.close()
    }

    @Test("reads from the standby: within the replica lag, on the primary when the standby stops (no failed request), the log in commit-safe order under 16 writers")
    func replicaReads() async throws {
        let cluster = try await PatroniCluster.shared.start()
        let db = try await cluster.database()
        let standby = try await cluster.standby()
        let maxLag = Duration.seconds(5)
        let daemon = try Daemon(
            conninfo: db.conninfo, port: TestPorts.free(),
            arguments: ["--pool-size", "4", "--replica-database-url", cluster.nodeConninfo(standby, database: db.name), "--replica-max-lag", "5s"])
        defer { daemon.stop() }
        try await daemon.ready()
        let tokens = AccessTokens(pool: db.pool)
        let (reporter, analyst, admin) = (
            try await tokens.create(name: "field", role: .reporter), try await tokens.create(name: "analyst", role: .analyst),
            try await tokens.create(name: "admin", role: .admin)
        )
        try await untilMetric(daemon, "incident_replica_in_use", equals: 1)

        try await summaryShowsWithinLag(daemon, db.pool, reporter: reporter, analyst: analyst, maxLag: maxLag)
        try await standbyStopsWithoutFailures(daemon, cluster, standby: standby, analyst: analyst)
        try await cluster.script("start-node", standby)
        try await cluster.script("wait-sync", "120")
        try await untilMetric(daemon, "incident_replica_in_use", equals: 1)
        try await logReaderSeesCommittedSet(daemon, db.pool, reporter: reporter, admin: admin)
        await db.pool.close()
    }

    /// A report written on the primary, once projected there, shows in a summary read from the standby within the lag allowed.
    private func summaryShowsWithinLag(_ daemon: Daemon, _ pool: ConnectionPool, reporter: String, analyst: String, maxLag: Duration) async throws {
        let report = FieldReport.make(1)[0]
        #expect(await post(daemon.port, token: reporter, body: report.body).status == 201)
        try await settle(pool)
        let projected = ContinuousClock.now
        let before = await daemon.metric(#"incident_reads_total{server="replica"}"#) ?? 0
        var shown: Duration?
        while shown == nil && ContinuousClock.now - projected < maxLag * 2 {
            let summary = await get(daemon.port, "/v1/summaries?level=district&since=2026-01-01&until=2026-12-31", token: analyst)
            let rows = summary.json?.objectValue?["rows"]?.arrayValue ?? []
            if rows.compactMap({ $0.objectValue?["incidents"]?.numberValue }).reduce(0, +) == 1 { shown = ContinuousClock.now - projected }
        }
        // The counters reach /metrics on the replica monitor's next measurement, a quarter of a second later.
        var after = before
        for _ in 0..<20 where after == before {
            try await Task.sleep(for: .milliseconds(100))
            after = await daemon.metric(#"incident_reads_total{server="replica"}"#) ?? 0
        }
        let lag = await daemon.metric("incident_replica_lag_seconds")
        print(
            "replica figures: summary on the standby \(shown.map { "\($0)" } ?? "never") after the primary projected it; lag gauge \(lag.map { "\($0) s" } ?? "absent"); \(Int(after - before)) reads on the standby"
        )
        #expect(shown != nil && shown! <= maxLag, "the standby serves what the primary projected within --replica-max-lag")
        #expect(after > before, "the summaries were read on the standby")
        #expect(lag != nil)
    }

    /// Summaries and lists read back to back while the standby's Patroni and PostgreSQL stop: every one answers 200.
    private func standbyStopsWithoutFailures(_ daemon: Daemon, _ cluster: PatroniCluster.Running, standby: String, analyst: String) async throws {
        let primaryBefore = await daemon.metric(#"incident_reads_total{server="primary"}"#) ?? 0
        // The readers go on until 3 s after the standby is down.
        let end = ReadersEnd()
        async let answers = withTaskGroup(of: [Int?].self) { group in
            for path in ["/v1/summaries?level=municipality", "/v1/incidents?limit=20"] {
                group.addTask {
                    var statuses: [Int?] = []
                    while !end.passed { statuses.append(await get(daemon.port, path, token: analyst).status) }
                    return statuses
                }
            }
            return await group.reduce(into: []) { $0 += $1 }
        }
        try await Task.sleep(for: .seconds(1))
        let stopping = ContinuousClock.now
        try await cluster.script("stop-node", standby)
        let stopped = ContinuousClock.now - stopping
        end.set(ContinuousClock.now + .seconds(3))
        let all = await answers
        let failed = all.filter { $0 != 200 }
        let primaryAfter = await daemon.metric(#"incident_reads_total{server="primary"}"#) ?? 0
        print(
            "replica figures: standby stopped (in \(stopped)) under \(all.count) reads: \(failed.count) failed, \(Int(primaryAfter - primaryBefore)) served by the primary"
        )
        #expect(failed.isEmpty, "no read failed when the standby stopped: \(failed)")
        #expect(primaryAfter > primaryBefore, "reads went to the primary")
        #expect(await daemon.metric("incident_replica_in_use") == 0)
    }

    /// A reader follows `GET /v1/events` (from the standby) while 16 reporters write; it ends
    /// with exactly the events the primary committed, each once: a skipped event never comes back.
    private func logReaderSeesCommittedSet(_ daemon: Daemon, _ pool: ConnectionPool, reporter: String, admin: String) async throws {
        let reports = FieldReport.make(400)
        let ledger = Ledger()
        let before = await daemon.metric(#"incident_reads_total{server="replica"}"#) ?? 0
        async let load: Void = drive(reports, clients: 16, port: daemon.port, token: reporter, ledger: ledger, pause: .milliseconds(5))
        var seen: [String] = []
        var checkpoint = ""
        var pages = 0
        let deadline = ContinuousClock.now + .seconds(120)
        while ContinuousClock.now < deadline {
            let page = await get(daemon.port, "/v1/events?limit=1000" + (checkpoint.isEmpty ? "" : "&after=" + checkpoint), token: admin)
            guard page.status == 200, let body = page.json?.objectValue else { continue }
            pages += 1
            seen += (body["events"]?.arrayValue ?? []).compactMap { $0.objectValue?["event_id"]?.stringValue }
            checkpoint = body["checkpoint"]?.stringValue ?? checkpoint
            if ledger.acknowledged == reports.count, try await committedEventIDs(pool).count == seen.count { break }
            try await Task.sleep(for: .milliseconds(20))
        }
        await load
        let committed = try await committedEventIDs(pool)
        let after = await daemon.metric(#"incident_reads_total{server="replica"}"#) ?? 0
        print(
            "replica figures: log reader on the standby under 16 writers: \(seen.count) events in \(pages) pages (\(Int(after - before)) reads on the standby), "
                + "\(committed.count) committed, missing \(committed.subtracting(seen).count), duplicated \(seen.count - Set(seen).count)")
        #expect(Set(seen) == committed, "the reader got exactly the committed events")
        #expect(seen.count == Set(seen).count, "each once")
        #expect(after > before, "the log was read on the standby")
    }

    private func committedEventIDs(_ pool: ConnectionPool) async throws -> Set<String> {
        try await pool.withConnection { Set(try $0.query("SELECT event_id::text FROM events").rows.map { try $0.decode(0) }) }
    }

    private func untilMetric(_ daemon: Daemon, _ name: String, equals value: Double) async throws {
        for _ in 0..<300 {
            if await daemon.metric(name) == value { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Issue.record("\(name) did not become \(value)")
        throw CancellationError()
    }
}

/// When the readers of ``FailoverTests`` stop: not before it is set.
private final class ReadersEnd: Sendable {
    private let instant = Mutex<ContinuousClock.Instant?>(nil)
    var passed: Bool { instant.withLock { $0.map { ContinuousClock.now >= $0 } ?? false } }
    func set(_ value: ContinuousClock.Instant) { instant.withLock { $0 = value } }
}
