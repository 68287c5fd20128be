import Foundation
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@Suite("Projector and reports across processes")
struct ProjectorProcessTests {
    /// Waits until `condition` holds, up to `seconds`; returns how long it took, nil on timeout.
    func waitFor(seconds: Double, _ condition: () async throws -> Bool) async rethrows -> Duration? {
        let start = ContinuousClock.now
        while ContinuousClock.now - start < .seconds(seconds) {
            if try await condition() { return ContinuousClock.now - start }
            try? await Task.sleep(for: .milliseconds(100))
        }
        return nil
    }

    func lag(_ pool: ConnectionPool) async throws -> Int { try await readModelLag(pool) }

    @Test("two daemons on one database: exactly one projects; kill -9 it and the other takes over; figures stay exact")
    func twoDaemons() async throws {
        try await TestDatabase.with { db in
            let reference = try await ReferenceData.load(db.pool)
            var history = RandomHistory(service: IncidentService(pool: db.pool, reference: reference, keys: TestKeys.ring), seed: 77)
            let base = TestPorts.free(count: 2)
            let first = try Daemon(conninfo: db.conninfo, port: base)
            defer { first.stop() }
            try await first.ready()
            #expect(await waitFor(seconds: 10) { await first.metric("incident_projector_active") == 1 } != nil)
            let second = try Daemon(conninfo: db.conninfo, port: base + 1)
            defer { second.stop() }
            try await second.ready()
            try await Task.sleep(for: .seconds(2))
            #expect(await first.metric("incident_projector_active") == 1)
            #expect(await second.metric("incident_projector_active") == 0, "the second daemon stands by")

            try await history.run(150)
            #expect(try await waitFor(seconds: 30) { try await lag(db.pool) == 0 } != nil)
            #expect(await second.metric("incident_projector_active") == 0)

            // The active daemon dies without a word: its session ends, its lock with it.
            first.kill()
            let takeover = await waitFor(seconds: 30) { await second.metric("incident_projector_active") == 1 }
            #expect(takeover != nil, "the standby daemon took over")
            print("projector takeover after kill -9: \(takeover.map { "\($0)" } ?? "none")")
            try await history.run(150)
            #expect(try await waitFor(seconds: 30) { try await lag(db.pool) == 0 } != nil)

            let naive = try await NaiveFigures.compute(db.pool, regions: reference.regions)
            #expect(try await projectedBuckets(db.pool, level: .municipality) == naive.buckets(level: .municipality))
            #expect(try await projectedBuckets(db.pool, level: .district) == naive.buckets(level: .district))
            let listed: Int = try await db.pool.withConnection { try $0.query("SELECT count(*) FROM incidents").first!.decode(0) }
            #expect(listed == naive.states.count)
        }
    }

    @Test("ictl summary, digest (atomic --output, no personal data, no network references, HXL row) and admin rebuild")
    func reportsFromTheCLI() async throws {
        try await TestDatabase.with { db in
            let admin = try await AccessTokens(pool: db.pool).create(name: "admin", role: .admin)
            let analyst = try await AccessTokens(pool: db.pool).create(name: "analyst", role: .analyst)
            let port = TestPorts.free()
            let daemon = try Daemon(conninfo: db.conninfo, port: port)
            defer { daemon.stop() }
            try await daemon.ready()
            let home = FileManager.default.temporaryDirectory.appendingPathComponent("ictl-digest-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: home) }
            let env = ["ICTL_SERVER": "http://127.0.0.1:\(port)", "ICTL_TOKEN": admin, "ICTL_OUTBOX": home + "/outbox"]
            func ictl(_ arguments: [String], token: String? = nil) async throws -> Run {
                try await run(Binaries.ictl, arguments, environment: token.map { env.merging(["ICTL_TOKEN": $0]) { _, new in new } } ?? env)
            }

            let lastWeek = IsoWeek.last(before: Date())
            for (index, day) in [lastWeek.from, lastWeek.to].enumerated() {
                let file = home + "/report-\(index).json"
                try Data(
                    """
                    {"category": "ethnic_violence", "subcategory": "assault", "occurred_at": "\(day)", "municipality": "Zubin Potok",
                     "summary": "Assault near the bridge, number \(index).", "source_type": "witness", "killed": \(index + 1), "injured": 2,
                     "personal": {"victims": [{"name": "Arben Krasniqi", "phone": "+383 44 123 456"}]}}
                    """.utf8
                ).write(to: URL(fileURLWithPath: file))
                let reported = try await ictl(["report", "--file", file])
                #expect(reported.status == 0, "\(reported.stderr)")
            }
            // Wait for the projector, then read figures as an analyst.
            var summary = Run(status: 1, stdout: "", stderr: "")
            for _ in 0..<100 {
                summary = try await ictl(["summary", "--level", "municipality", "--format", "json"], token: analyst)
                if summary.stdout.contains("\"incidents\": 2") { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(summary.status == 0 && summary.stdout.contains("XK-MIT-07") && summary.stdout.contains("\"as_of\""), "\(summary.stdout)\(summary.stderr)")
            let hxl = try await ictl(["summary", "--format", "hxl"], token: analyst).stdout.split(separator: "\n")
            #expect(hxl.count == 3 && hxl[1].hasPrefix("#adm1+code,#adm1+name,#event+type,#event+num"))

            let (html, page) = try await Self.digestsWrittenWhole(home: home, env: env, analyst: analyst, lastWeek: lastWeek)

            // Failures: one line on stderr, nothing on stdout, non-zero; an existing file is left whole.
            let unwritable = try await ictl(["digest", "--format", "html", "--output", home + "/missing/dir/digest.html"], token: analyst)
            #expect(unwritable.status != 0 && unwritable.stdout.isEmpty)
            #expect(unwritable.stderr.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: "\n").count == 1, "\(unwritable.stderr)")
            let badWeek = try await ictl(["digest", "--week", "2026-W60", "--output", html], token: analyst)
            #expect(badWeek.status == 65 && badWeek.stdout.isEmpty && badWeek.stderr.split(separator: "\n").count == 1, "\(badWeek.stderr)")
            #expect(try String(contentsOfFile: html, encoding: .utf8) == page, "a failed run leaves the last digest in place")
            let offline = try await run(Binaries.ictl, ["digest", "--output", html], environment: env.merging(["ICTL_SERVER": "http://127.0.0.1:1"]) { _, new in new })
            #expect(offline.status == 69 && offline.stdout.isEmpty)

            let rebuilt = try await ictl(["admin", "rebuild", "region_summary"])
            #expect(rebuilt.status == 0 && rebuilt.stderr.contains("rebuilt"), "\(rebuilt.stderr)")
            #expect(try await ictl(["admin", "rebuild", "region_summary"], token: analyst).status == 77)
            let after = try await ictl(["summary", "--level", "municipality", "--format", "json"], token: analyst)
            #expect(after.stdout.contains("\"incidents\": 2"))
        }
    }

    /// The digest of `lastWeek` in HTML, CSV and Markdown with --output: whole, no personal data, no network references, the HXL rows; returns the HTML file and its text.
    private static func digestsWrittenWhole(home: String, env: [String: String], analyst: String, lastWeek: IsoWeek) async throws -> (html: String, page: String) {
        func ictl(_ arguments: [String], token: String? = nil) async throws -> Run {
            try await run(Binaries.ictl, arguments, environment: token.map { env.merging(["ICTL_TOKEN": $0]) { _, new in new } } ?? env)
        }
        let html = home + "/digest.html", csv = home + "/digest.csv", markdown = home + "/digest.md"
        for (format, path) in [("html", html), ("csv", csv), ("markdown", markdown)] {
            let result = try await ictl(["digest", "--week", lastWeek.description, "--format", format, "--output", path], token: analyst)
            #expect(result.status == 0, "\(result.stderr)")
            #expect(result.stdout.isEmpty, "--output leaves stdout empty")
        }
        let page = try String(contentsOfFile: html, encoding: .utf8)
        #expect(page.contains("<svg") && page.contains("Zubin Potok") && page.contains(lastWeek.description))
        #expect(!page.contains("http://") && !page.contains("https://"), "the HTML is self-contained")
        for personal in ["Arben", "Krasniqi", "+383", "victims", "admin"] {
            #expect(!page.contains(personal), "no personal data or reporter name: \(personal)")
            #expect(!(try String(contentsOfFile: markdown, encoding: .utf8)).contains(personal))
        }
        let lines = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n")
        #expect(lines.count >= 3)
        #expect(
            lines[1]
                == "#adm1+code,#adm1+name,#adm2+code,#adm2+name,#event+type,#event+num,#event+num+verified,#affected+killed,#affected+injured,#affected+abducted,#affected+displaced"
        )
        let text = try String(contentsOfFile: markdown, encoding: .utf8)
        #expect(text.contains("Weekly incident digest — \(lastWeek)") && text.contains("Zubin Potok") && text.contains("Assault near the bridge"))
        #expect(lines.dropFirst(2).contains { $0.hasPrefix("XK-MIT,") && $0.hasSuffix(",ethnic_violence,2,0,3,4,0,0") }, "\(lines)")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: home).filter { $0.hasPrefix(".digest") }
        #expect(leftovers.isEmpty, "no temporary files left: \(leftovers)")
        return (html, page)
    }
}
