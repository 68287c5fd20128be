import Foundation
import IncidentTesting
import PostgresLibpq
import Synchronization
import Testing

@testable import IncidentStore

/// docs/data-model.md, Read models: the read models against the log.
@Suite("Projections: incremental, interrupted and rebuilt figures equal the log's")
struct ProjectionTests {
    static let admin = Principal(name: "history.admin", role: .admin)

    /// The incidents read model, row by row, for comparing two builds of it.
    func incidentRows(_ pool: ConnectionPool) async throws -> [String] {
        try await pool.withConnection { connection in
            try connection.query(
                """
                SELECT concat_ws('|', incident_id, version, status, category, subcategory, municipality, district, occurred_day,
                                 killed, injured, abducted, displaced, sensitivity, record::text)
                FROM incidents ORDER BY incident_id
                """
            ).rows.map { try $0.decode(0, as: String.self) }
        }
    }

    /// Per live table of `projections`: its primary key's columns and each other index's definition.
    func indexShapes(_ pool: ConnectionPool, _ projections: [any Projection]) async throws -> [String] {
        try await pool.withConnection { try indexDefinitions(of: projections.flatMap(\.tables), on: $0) }
    }

    @Test("random histories: incremental == rebuilt == naive recomputation, at municipality and district level", arguments: Array(UInt64(1)...12))
    func incrementalEqualsRebuiltEqualsNaive(seed: UInt64) async throws {
        try await TestDatabase.with { db in
            let reference = try await ReferenceData.load(db.pool)
            let projections: [any Projection] = [
                IncidentsProjection(regions: reference.regions, narrative: NarrativeVault(keys: TestKeys.ring)), RegionSummaryProjection(regions: reference.regions),
            ]
            var history = RandomHistory(service: IncidentService(pool: db.pool, reference: reference, keys: TestKeys.ring), seed: seed)
            var random = SeededGenerator(seed: seed &* 31)
            // Interleave writing and projecting, with batches of random size, so batch boundaries fall anywhere.
            for _ in 0..<15 {
                try await history.run(Int.random(in: 1...12, using: &random))
                let limit = Int.random(in: 1...20, using: &random)
                _ = try await db.pool.withConnection { connection in
                    try projections.map { try $0.catchUp(on: connection, limit: limit) }
                }
            }
            try await catchUpFully(projections, db.pool)
            #expect(history.accepted > 40, "seed \(seed): the history should mostly be accepted commands")

            let naive = try await NaiveFigures.compute(db.pool, regions: reference.regions)
            let incremental = (
                municipality: try await projectedBuckets(db.pool, level: .municipality),
                district: try await projectedBuckets(db.pool, level: .district),
                incidents: try await incidentRows(db.pool)
            )
            #expect(incremental.municipality == naive.buckets(level: .municipality), "seed \(seed)")
            #expect(incremental.district == naive.buckets(level: .district), "seed \(seed)")
            #expect(try await incidentsMatchFold(db.pool, naive), "seed \(seed)")
            #expect(!incremental.municipality.isEmpty)
            #expect(try await weekTableMismatches(db.pool) == 0, "seed \(seed)")
            try await expectSummaries(history.service, naive, days: history.days, seed: seed)

            let indexes = try await indexShapes(db.pool, projections)
            for projection in projections {
                // Seeds above 6 load in small ranges on two connections at once.
                try await db.pool.withConnection { connection in
                    let helper = seed > 6 ? try db.pool.openConnection() : nil
                    defer { helper?.close() }
                    try ProjectionRebuild.run(projection, on: connection, alongside: helper, rangeSize: seed > 6 ? 7 : ProjectionRebuild.rangeSize)
                }
            }
            #expect(try await indexShapes(db.pool, projections) == indexes, "seed \(seed): the rebuilt tables have the indexes and keys of the old ones")
            try await catchUpFully(projections, db.pool)
            #expect(try await projectedBuckets(db.pool, level: .municipality) == incremental.municipality, "seed \(seed)")
            #expect(try await projectedBuckets(db.pool, level: .district) == incremental.district, "seed \(seed)")
            #expect(try await incidentRows(db.pool) == incremental.incidents, "seed \(seed)")
            #expect(try await projectedBuckets(db.pool, table: "region_summary_shadow", level: .municipality).isEmpty, "the old tables are emptied after the swap")

            // The API's answers agree too, over periods that do and do not hold whole weeks.
            #expect(try await weekTableMismatches(db.pool) == 0, "seed \(seed): after the rebuild")
            try await expectSummaries(history.service, naive, days: history.days, seed: seed)
            let summary = try await history.service.summary(level: "district", since: nil, until: nil, category: nil, for: Self.admin)
            #expect(summary.asOf == (try await maxPosition(db.pool)))
        }
    }

    @Test("batches that mix new reports with later events write what one event at a time writes, row for row")
    func mixedBatchesEqualOneEventAtATime() async throws {
        try await TestDatabase.with { db in
            let reference = try await ReferenceData.load(db.pool)
            let projections: [any Projection] = [
                IncidentsProjection(regions: reference.regions, narrative: NarrativeVault(keys: TestKeys.ring)), RegionSummaryProjection(regions: reference.regions),
            ]
            let service = IncidentService(pool: db.pool, reference: reference, keys: TestKeys.ring)
            let metadata = EventMetadata(principal: "reporter.one", role: "reporter", client: "tests")
            func report(_ n: Int) async throws {
                let municipalities = ["XK-PRI-01", "XK-MIT-07", "XK-PRZ-01", "XK-PEJ-01"]
                var fields: [String: JSONValue] = [
                    "category": "ethnic_violence", "subcategory": n % 2 == 0 ? "threat_intimidation" : "assault",
                    "occurred_at": .string(n % 3 == 0 ? "2026-11-0\(1 + n % 9)T23:30:00Z" : "2026-10-1\(n % 10)"),
                    "municipality": .string(municipalities[n % municipalities.count]), "summary": .string("Report \(n) of a batch."),
                    "source_type": "witness", "killed": .number(Double(n % 2)), "injured": .number(Double(n % 4)),
                ]
                if n % 3 == 1 { fields["personal"] = ["victims": [["name": "Arben Krasniqi", "phone": "+383 44 123 456"]]] }
                if n % 5 == 0 { fields["displaced"] = .number(Double(n)) }
                _ = try await service.report(.object(fields), idempotencyKey: nil, by: Principal(name: "reporter.one", role: .reporter), metadata: metadata)
            }
            // Reports only, then a mixed history, then reports again: the live tables take batches
            // of 7 (reports alone, and reports beside the events that follow them); the shadows
            // take one event at a time.
            for n in 0..<24 { try await report(n) }
            // The read is commit-safe: a transaction of a test in another database of the cluster
            // can hold it back a moment, so wait (10 s at most) for the seven reports.
            var first = try await db.pool.withConnection { try EventStore.readHeadings(after: .start, limit: 7, on: $0) }
            for _ in 0..<100 where first.count < 7 {
                try await Task.sleep(for: .milliseconds(100))
                first = try await db.pool.withConnection { try EventStore.readHeadings(after: .start, limit: 7, on: $0) }
            }
            #expect(first.count == 7 && first.allSatisfy(\.opensIncident), "the first batch is reports alone (written without reading them into the process)")
            var history = RandomHistory(service: service, seed: 5)
            try await history.run(30)
            for n in 24..<40 { try await report(n) }
            // Until every event is applied: a test in another database of the cluster can hold the
            // commit-safe read back a moment (a batch of none before the end).
            for projection in projections {
                try await Self.applyAll(db, projection, .live, limit: 7)
                try await Self.applyAll(db, projection, .shadow, limit: 1)
            }
            try await Self.liveTablesEqualTheirShadows(db)
            #expect(
                try await projectedBuckets(db.pool, level: .district) == (try await NaiveFigures.compute(db.pool, regions: reference.regions)).buckets(level: .district))
        }
    }

    /// Applies batches of `limit` events to `target` until no event is left after its checkpoint.
    private static func applyAll(_ db: TestDatabase, _ projection: any Projection, _ target: ProjectionTables.Target, limit: Int) async throws {
        while true {
            let left: Int = try await db.pool.withConnection { connection in
                _ = try connection.transaction { try projection.applyNextBatch(target, limit: limit, on: $0) }
                let checkpoint = try projection.checkpoint(target, on: connection) ?? .start
                return try connection.query(
                    "SELECT count(*) FROM events e WHERE (e.transaction_id, e.global_position) > ($1::xid8, $2::bigint)",
                    [checkpoint.transactionID, checkpoint.position]
                ).first!.decode(0)
            }
            if left == 0 { return }
        }
    }

    /// Each read model table holds exactly the rows of its shadow, and some.
    private static func liveTablesEqualTheirShadows(_ db: TestDatabase) async throws {
        for table in [
            "incidents", "region_summary", "region_summary_district", "region_summary_week", "region_summary_district_week", "region_summary_confidential",
            "region_summary_incidents",
        ] {
            let (rows, differing): (Int, Int) = try await db.pool.withConnection { connection in
                let row = try connection.query(
                    """
                    SELECT (SELECT count(*) FROM \(table)),
                           (SELECT count(*) FROM ((TABLE \(table) EXCEPT ALL TABLE \(table)_shadow)
                                            UNION ALL (TABLE \(table)_shadow EXCEPT ALL TABLE \(table))) AS d)
                    """
                ).first!
                return (try row.decode(0), try row.decode(1))
            }
            #expect(rows > 0, "\(table) is empty")
            #expect(differing == 0, "\(table): \(differing) rows differ between the SQL and the fold")
        }
    }

    @Test("compacting the bucket tables keeps every figure, frees their dead pages, and is refused for other tables")
    func compaction() async throws {
        try await TestDatabase.with { db in
            let reference = try await ReferenceData.load(db.pool)
            let summary = RegionSummaryProjection(regions: reference.regions)
            var history = RandomHistory(service: IncidentService(pool: db.pool, reference: reference, keys: TestKeys.ring), seed: 11)
            // Batches of one: every event updates its buckets again, leaving old versions behind.
            for _ in 0..<6 {
                try await history.run(20)
                try await db.pool.withConnection { connection in
                    while try summary.lag(on: connection) > 0 { _ = try summary.catchUp(on: connection, limit: 1) }
                }
            }
            func pages() async throws -> Int {
                try await db.pool.withConnection { try $0.query("SELECT pg_relation_size('region_summary')::bigint / 8192").first!.decode(0) }
            }
            func files() async throws -> [Int] {
                try await db.pool.withConnection { connection in
                    try connection.query(
                        "SELECT relfilenode::bigint FROM pg_class WHERE relname = ANY($1::text[]) ORDER BY relname",
                        ["{" + summary.compactable.joined(separator: ",") + "}"]
                    )
                    .rows.map { try $0.decode(0) }
                }
            }
            let before = (municipality: try await projectedBuckets(db.pool, level: .municipality), district: try await projectedBuckets(db.pool, level: .district))
            let pagesBefore = try await pages()
            let filesBefore = try await files()
            // As the daemon does it: as incident_app, which owns no table.
            let app = ConnectionPool(configuration: .init(conninfo: db.conninfo, maxConnections: 1, setupStatements: ["SET ROLE incident_app"]))
            try await app.withConnection { try summary.compact(on: $0) }
            await app.close()
            let filesAfter = try await files()
            #expect(filesAfter.count == 5 && zip(filesBefore, filesAfter).allSatisfy { $0 != $1 }, "the five bucket tables rewritten: \(filesBefore) -> \(filesAfter)")
            #expect(try await projectedBuckets(db.pool, level: .municipality) == before.municipality)
            #expect(try await projectedBuckets(db.pool, level: .district) == before.district)
            #expect(!before.district.isEmpty)
            let pagesAfter = try await pages()
            #expect(pagesAfter <= pagesBefore, "\(pagesBefore) pages before, \(pagesAfter) after")
            await #expect(throws: DatabaseError.self) {
                try await db.pool.withConnection { try $0.query("SELECT compact_read_model('events')") }
            }
        }
    }

    @Test("a projector killed or aborted mid-batch neither loses nor double-counts an event")
    func interruptedBatches() async throws {
        try await TestDatabase.with { db in
            let reference = try await ReferenceData.load(db.pool)
            let projection = RegionSummaryProjection(regions: reference.regions)
            var history = RandomHistory(service: IncidentService(pool: db.pool, reference: reference, keys: TestKeys.ring), seed: 99)
            try await history.run(150)
            var interrupted = 0
            var random = SeededGenerator(seed: 7)
            while try await db.pool.withConnection({ try projection.lag(on: $0) }) > 0 {
                let limit = Int.random(in: 3...25, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0:
                    // The projector's backend is killed after it wrote a batch and its checkpoint, before COMMIT.
                    let victim = DedicatedConnection(like: db.pool)
                    let pid = try await victim.run { connection -> Int32 in
                        try connection.execute("BEGIN")
                        _ = try projection.applyNextBatch(.live, limit: limit, on: connection)
                        return connection.backendPID
                    }
                    try await db.pool.withConnection { _ = try $0.query("SELECT pg_terminate_backend($1)", [Int(pid)]) }
                    await #expect(throws: DatabaseError.self) { try await victim.run { try $0.execute("COMMIT") } }
                    await victim.close()
                    interrupted += 1
                case 1:
                    // The batch fails after it was applied: the transaction rolls back whole.
                    struct Crash: Error {}
                    try await db.pool.withConnection { connection in
                        _ = #expect(throws: Crash.self) {
                            try connection.transaction { connection in
                                _ = try projection.applyNextBatch(.live, limit: limit, on: connection)
                                throw Crash()
                            }
                        }
                    }
                    interrupted += 1
                default:
                    if try await db.pool.withConnection({ try projection.catchUp(on: $0, limit: limit) }) == 0 {
                        // Held back by a transaction of a test in another database: let it end.
                        try await Task.sleep(for: .milliseconds(10))
                    }
                }
            }
            #expect(interrupted > 5)
            let naive = try await NaiveFigures.compute(db.pool, regions: reference.regions)
            #expect(try await projectedBuckets(db.pool, level: .municipality) == naive.buckets(level: .municipality))
            #expect(try await projectedBuckets(db.pool, level: .district) == naive.buckets(level: .district))
        }
    }

    @Test("a rebuild asked for while another holds the lock: refused while it runs, waited for while it only empties old tables")
    func rebuildLockWhileCleaningUp() async throws {
        try await TestDatabase.with { db in
            let projection = RegionSummaryProjection(regions: try await ReferenceData.load(db.pool).regions)
            let holder = try db.pool.openConnection()
            let asker = try db.pool.openConnection()
            defer { holder.close(); asker.close() }
            // Running: the lock is held and the shadow checkpoint exists.
            try ProjectionRebuild.start(projection, on: holder)
            #expect(throws: ProjectionRebuild.Failure.self) { try ProjectionRebuild.start(projection, on: asker) }
            // Swapped in and emptying the old tables: the shadow checkpoint is gone, the lock still held.
            try holder.query("DELETE FROM projection_checkpoints WHERE name = $1", [projection.checkpointName(.shadow)])
            final class Flag: Sendable { let value = Mutex(false) }
            let released = Flag()
            let release = Task.detached {
                try await Task.sleep(for: .milliseconds(300))
                released.value.withLock { $0 = true }
                try ProjectionRebuild.finish(projection, on: holder)
            }
            try ProjectionRebuild.start(projection, on: asker)
            let waited = released.value.withLock { $0 }
            #expect(waited, "the second start waited for the first rebuild's lock")
            try await release.value
            #expect(try ProjectionRebuild.isRunning(projection, on: holder))
            try ProjectionRebuild.finish(projection, on: asker)
            #expect(try !ProjectionRebuild.isRunning(projection, on: holder))
        }
    }

    @Test("rebuild under concurrent writes: summaries answer throughout; after the swap the figures are exact")
    func rebuildUnderWrites() async throws {
        try await TestDatabase.with(maxConnections: 8) { db in
            let reference = try await ReferenceData.load(db.pool)
            let service = IncidentService(pool: db.pool, reference: reference, keys: TestKeys.ring)
            let projections: [any Projection] = [
                IncidentsProjection(regions: reference.regions, narrative: NarrativeVault(keys: TestKeys.ring)), RegionSummaryProjection(regions: reference.regions),
            ]
            var history = RandomHistory(service: service, seed: 2024)
            try await history.run(400)
            try await catchUpFully(projections, db.pool)

            // Writers and a projector keep going while both projections are rebuilt.
            let stop = Flag()
            async let writes: Int = {
                var writer = RandomHistory(service: service, seed: 4048)
                var count = 0
                while !stop.isSet {
                    try await writer.step()
                    count += 1
                }
                return count
            }()
            async let projector: Void = {
                while !stop.isSet {
                    _ = try await db.pool.withConnection { connection in try projections.map { try $0.catchUp(on: connection, limit: 50) } }
                    try await Task.sleep(for: .milliseconds(5))
                }
            }()
            async let reads: Int = {
                var answered = 0
                while !stop.isSet {
                    // Both levels: each reads a day table and a week table, which a swap renames.
                    let summary = try await service.summary(
                        level: answered % 2 == 0 ? "municipality" : "district", since: nil, until: nil, category: nil, for: Self.admin)
                    #expect(!summary.rows.isEmpty)
                    answered += 1
                }
                return answered
            }()
            let replayedDuringRebuild = try await Self.rebuildEachBesideTheLoad(projections, db, history: history)
            try await Task.sleep(for: .milliseconds(200))
            stop.set()
            let written = try await writes
            try await projector
            let answered = try await reads
            #expect(written > 10, "writes went on during the rebuild")
            #expect(answered > 10, "summaries answered during the rebuild")

            try await catchUpFully(projections, db.pool)
            let naive = try await NaiveFigures.compute(db.pool, regions: reference.regions)
            #expect(try await projectedBuckets(db.pool, level: .municipality) == naive.buckets(level: .municipality))
            #expect(try await projectedBuckets(db.pool, level: .district) == naive.buckets(level: .district))
            let listed = try await db.pool.withConnection { try $0.query("SELECT count(*) FROM incidents").first!.decode(0, as: Int.self) }
            #expect(listed == naive.states.count)
            // Shown so a reader sees the swap had late events to fold in (not asserted: timing decides).
            print(
                "rebuild under writes: \(written) commands written during the run, \(replayedDuringRebuild) events applied inside the swaps, \(answered) summaries answered"
            )
        }
    }

    /// Rebuilds each projection on a session of its own, with ten more commands written between its replay and its swap; returns the events the swaps applied.
    private static func rebuildEachBesideTheLoad(_ projections: [any Projection], _ db: TestDatabase, history: RandomHistory) async throws -> Int {
        var replayedDuringRebuild = 0
        var writtenBeforeSwap = history
        for projection in projections {
            // One session of its own holds the rebuild lock from start to swap; it replays in short steps.
            let rebuild = DedicatedConnection(like: db.pool)
            try await rebuild.run { connection in
                try ProjectionRebuild.start(projection, on: connection)
                try ProjectionRebuild.bulk(projection, on: connection)
                while try ProjectionRebuild.step(projection, on: connection, limit: 40) > 0 {}
            }
            // Events the replay has not seen: the swap must fold them in.
            try await writtenBeforeSwap.run(10)
            replayedDuringRebuild += try await rebuild.run { try ProjectionRebuild.swap(projection, on: $0) }
            await rebuild.close()
        }
        return replayedDuringRebuild
    }

    /// Applies every committed event. Transaction ids are cluster-wide, so a transaction of a
    /// test running in parallel in another database can hold the commit-safe read back a moment.
    /// Every `incidents` row against the test's own fold of the log (decoded records, re-encoded).
    func incidentsMatchFold(_ pool: ConnectionPool, _ naive: NaiveFigures) async throws -> Bool {
        let rows = try await pool.withConnection { connection in
            try connection.query("SELECT incident_id, version, status, record::text AS r, occurred_day::text AS d, personal_data_erased FROM incidents").rows
        }
        guard rows.count == naive.states.count else { return false }
        for row in rows {
            guard let state = naive.states[try row.decode(0)] else { return false }
            var record = state.record
            record.personal = nil
            let sealed = try JSONValue.parse(Data(try row.decode(3, as: String.self).utf8))
            // A confidential incident's row holds its text sealed, and no plain text of it.
            if state.record.sensitivity == .confidential && NarrativeVault.recordFields.contains(where: { sealed.objectValue?[$0] != nil }) { return false }
            let stored = try await pool.withConnection { try NarrativeVault(keys: TestKeys.ring).openRecords([(state.record.incidentID, sealed)], on: $0)[0] }
            guard try row.decode(1, as: Int.self) == state.version, try row.decode(2, as: String.self) == state.status.rawValue,
                stored == (try JSONValue(encoding: record)), try row.decode(4, as: String.self) == record.occurredDay,
                try row.decode(5, as: Bool.self) == state.personalDataErased
            else { return false }
        }
        return true
    }

    /// `GET /v1/summaries` over periods of `days` against the oracle: the whole log, open ends,
    /// exactly two whole weeks, a day, and random periods (the district level takes whole weeks
    /// from the week table and the other days from the day table), a category alone once.
    func expectSummaries(_ service: IncidentService, _ naive: NaiveFigures, days: [String], seed: UInt64) async throws {
        let days = days.sorted()
        var random = SeededGenerator(seed: seed &* 57)
        let monday = IsoWeek(containing: days[0])!.advanced(by: 1)
        var periods: [(since: String?, until: String?)] = [
            (nil, nil), (nil, days[days.count / 2]), (days[days.count / 3], nil), (monday.from, monday.advanced(by: 1).to), (days[5], days[5]),
        ]
        for _ in 0..<8 {
            let (a, b) = (days.randomElement(using: &random)!, days.randomElement(using: &random)!)
            periods.append((min(a, b), max(a, b)))
        }
        let category = naive.buckets(level: .district).keys.map(\.category).min()!
        for level in SummaryLevel.allCases {
            for (index, period) in periods.enumerated() {
                // The whole log, the two whole weeks and the last period once more for one category alone.
                for only in [0, 3, periods.count - 1].contains(index) ? [nil, category] : [nil] {
                    let summary = try await service.summary(level: level.rawValue, since: period.since, until: period.until, category: only, for: Self.admin)
                    var expected: [String: SummaryFigures] = [:]
                    for (bucket, figures) in naive.buckets(level: level)
                    where bucket.day >= (period.since ?? "") && bucket.day <= (period.until ?? "~") && (only == nil || bucket.category == only) {
                        expected[bucket.region + " " + bucket.category, default: SummaryFigures()] += figures
                    }
                    #expect(
                        Dictionary(uniqueKeysWithValues: summary.rows.map { ($0.code + " " + $0.category, $0.figures) }) == expected,
                        "seed \(seed), \(level) \(period.since ?? "…")...\(period.until ?? "…") \(only ?? "")")
                }
            }
        }
    }

    /// Rows of the week tables that differ from their day tables added up by week, or that hold
    /// no incident (a bucket whose last incident left is deleted).
    func weekTableMismatches(_ pool: ConnectionPool) async throws -> Int {
        try await pool.withConnection { connection in
            var mismatches = 0
            for (week, day, region) in [
                ("region_summary_week", "region_summary", "municipality, district"), ("region_summary_district_week", "region_summary_district", "district"),
            ] {
                let rollUp =
                    "SELECT date_trunc('week', day)::date, " + region + ", category, " + SummaryFigures.sums + " FROM " + day + " GROUP BY 1, " + region + ", category"
                let columns =
                    "week, " + region + ", category, incidents::bigint, verified::bigint, killed::numeric, injured::numeric, abducted::numeric, displaced::numeric"
                mismatches += try connection.query(
                    "SELECT count(*) FROM ((SELECT " + columns + " FROM " + week + " EXCEPT ALL " + rollUp + ") UNION ALL ("
                        + rollUp + " EXCEPT ALL SELECT " + columns + " FROM " + week + ")) AS d"
                ).first!.decode(0)
                mismatches += try connection.query("SELECT count(*) FROM " + week + " WHERE incidents <= 0").first!.decode(0)
            }
            return mismatches
        }
    }

    func maxPosition(_ pool: ConnectionPool) async throws -> Int64 {
        try await pool.withConnection { try $0.query("SELECT coalesce(max(global_position), 0) FROM events").first!.decode(0) }
    }

}

/// A flag one task sets and others read.
final class Flag: Sendable {
    private let value = Mutex(false)
    var isSet: Bool { value.withLock { $0 } }
    func set() { value.withLock { $0 = true } }
}
