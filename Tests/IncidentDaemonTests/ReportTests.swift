import Foundation
import HTTPTypes
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

@testable import IncidentDaemon

/// `GET /v1/summaries`, `GET /v1/digests/weekly` and projection rebuilds over HTTP.
@Suite("Summaries, weekly digest and rebuild over HTTP")
struct ReportTests {
    func figures(_ value: JSONValue?) -> SummaryFigures {
        func int(_ key: String) -> Int {
            if case .number(let n)? = value?.objectValue?[key] { return Int(n) }
            return -1
        }
        return SummaryFigures(
            incidents: int("incidents"), verified: int("verified"), killed: int("killed"),
            injured: int("injured"), abducted: int("abducted"), displaced: int("displaced"))
    }

    func number(_ value: JSONValue?, _ key: String) -> Double? {
        if case .number(let n)? = value?.objectValue?[key] { return n }
        return nil
    }

    @Test("summaries: roles, parameters, figures that follow amendments and decisions")
    func summaries() async throws {
        try await API.run { api in
            #expect(try await api.call(.get, "/v1/summaries", token: api.reporter).status == 403)
            for bad in ["level=region", "since=2026-13-01", "until=yesterday", "category=nonsense", "since=2026-11-20&until=2026-11-01"] {
                let reply = try await api.call(.get, "/v1/summaries?" + bad, token: api.analyst)
                #expect(reply.status == 400, "\(bad)")
            }
            let first = try await api.call(.post, "/v1/incidents", token: api.reporter, json: report(["killed": 2, "injured": 1]))
            let second = try await api.call(.post, "/v1/incidents", token: api.reporter, json: report(["municipality": "XK-PRI-01"]))
            try await api.settle()
            let path = "/v1/summaries?level=municipality&since=2026-11-01&until=2026-11-30"
            var reply = try await api.call(.get, path, token: api.analyst)
            #expect(reply.status == 200)
            var rows = reply["rows"]?.arrayValue ?? []
            #expect(rows.count == 2)
            let zubin = rows.first { $0.objectValue?["code"] == "XK-MIT-07" }
            #expect(figures(zubin) == SummaryFigures(incidents: 1, verified: 0, killed: 2, injured: 1, abducted: 0, displaced: 0))
            #expect(zubin?.objectValue?["name"] == "Zubin Potok")
            #expect(number(reply.json, "as_of") == Double(try await maxPosition(api)))

            // Verify one, move the other to another month, reject the first: figures follow.
            let a = first["incident_id"]!.stringValue!, b = second["incident_id"]!.stringValue!
            try await api.call(.post, "/v1/incidents/\(a)/verification", token: api.reviewer, json: ["expected_version": 1, "decision": "verified", "note": "seen"])
            try await api.call(
                .post, "/v1/incidents/\(b)/amendments", token: api.reporter, json: ["expected_version": 1, "changes": ["occurred_at": "2026-10-05"], "reason": "date"])
            try await api.settle()
            reply = try await api.call(.get, path, token: api.admin)
            rows = reply["rows"]?.arrayValue ?? []
            #expect(rows.count == 1)
            #expect(figures(rows.first) == SummaryFigures(incidents: 1, verified: 1, killed: 2, injured: 1, abducted: 0, displaced: 0))
            try await api.call(.post, "/v1/incidents/\(a)/verification", token: api.reviewer, json: ["expected_version": 2, "decision": "rejected", "note": "fake"])
            try await api.settle()
            #expect(try await api.call(.get, path, token: api.analyst)["rows"]?.arrayValue?.isEmpty == true)

            // District level rolls municipalities up; the reviewer may read figures too.
            reply = try await api.call(.get, "/v1/summaries?level=district", token: api.reviewer)
            #expect(reply["rows"]?.arrayValue?.map { $0.objectValue?["code"] } == ["XK-PRI"])
        }
    }

    func maxPosition(_ api: API) async throws -> Int {
        try await api.db.pool.withConnection { try $0.query("SELECT coalesce(max(global_position), 0) FROM events").first!.decode(0) }
    }

    @Test("the digest of a seeded history has the figures the test computes from the log")
    func digestFigures() async throws {
        try await API.run { api in
            let reference = try await ReferenceData.load(api.db.pool)
            var history = RandomHistory(service: IncidentService(pool: api.db.pool, reference: reference, keys: TestKeys.ring), seed: 48, days: 63, municipalities: 8)
            try await history.run(300)
            try await api.settle()
            // Figures: the last complete week (the history's days end yesterday, so it is full).
            let thisWeek = IsoWeek(containing: Date())
            let week = thisWeek.advanced(by: -1)
            // A reviewer's digest has the exact figures; an analyst's says its confidential ones are coarsened.
            let reply = try await api.call(.get, "/v1/digests/weekly?week=\(week)", token: api.reviewer)
            #expect(reply.status == 200)
            let digest = try #require(reply.json?.objectValue)
            #expect(digest["disclosure"] == ["threshold": 5, "confidential": "exact"])
            let coarse = try await api.call(.get, "/v1/digests/weekly?week=\(week)", token: api.analyst)
            #expect(coarse.json?.objectValue?["disclosure"] == ["threshold": 5, "confidential": "coarsened"])
            let naive = try await NaiveFigures.compute(api.db.pool, regions: reference.regions)
            func total(_ w: IsoWeek) -> SummaryFigures { naive.total(from: w.from, to: w.to) }

            #expect(digest["week"]?.stringValue == week.description)
            #expect(digest["from"]?.stringValue == week.from && digest["to"]?.stringValue == week.to)
            let totals = total(week), previous = total(week.advanced(by: -1))
            #expect(figures(digest["totals"]) == totals)
            #expect(figures(digest["previous_week"]) == previous)
            let four = fourWeekAverageAndChanges(digest, week: week, total: total)
            #expect(totals.incidents > 0 && four.contains { $0.incidents > 0 }, "the seeded history fills the weeks compared")

            // by_region adds up to the totals; the trend is the eight weeks ending with this one.
            let byRegion = digest["by_region"]?.arrayValue ?? []
            #expect(byRegion.map { figures($0).incidents }.reduce(0, +) == totals.incidents)
            #expect(byRegion.map { figures($0).killed }.reduce(0, +) == totals.killed)
            let trend = digest["trend"]?.arrayValue ?? []
            #expect(trend.map { $0.objectValue?["week"]?.stringValue } == (0..<8).map { week.advanced(by: $0 - 7).description })
            #expect(trend.map { number($0, "incidents") } == (0..<8).map { Double(total(week.advanced(by: $0 - 7)).incidents) })

            // Revisions: decisions and corrections recorded during the digest's week about incidents of
            // earlier weeks. The history was written just now, so this week's digest holds them.
            try await revisionsAreThoseRecordedInTheWeek(api, digest: digest, thisWeek: thisWeek, naive: naive)

            // Notable incidents: of this week, counted, never confidential, most casualties first, no personal data.
            try notableIncidentsAreOfTheWeekAndOpen(digest, week: week, naive: naive)
            #expect(number(reply.json, "as_of") == Double(try await maxPosition(api)))

            #expect(try await api.call(.get, "/v1/digests/weekly?week=2026-W54", token: api.analyst).status == 400)
            #expect(try await api.call(.get, "/v1/digests/weekly?week=last", token: api.reporter).status == 403)
            let last = try await api.call(.get, "/v1/digests/weekly", token: api.admin)
            #expect(last["week"]?.stringValue == week.description)
        }
    }

    /// The four weeks before `week`: their average and the changes against it and the previous week, per figure; returns the four.
    private func fourWeekAverageAndChanges(_ digest: [String: JSONValue], week: IsoWeek, total: (IsoWeek) -> SummaryFigures) -> [SummaryFigures] {
        let four = (1...4).map { total(week.advanced(by: -$0)) }
        for key in ["incidents", "verified", "killed", "injured", "abducted", "displaced"] {
            let values = four.map { f -> Int in
                switch key {
                case "incidents": f.incidents
                case "verified": f.verified
                case "killed": f.killed
                case "injured": f.injured
                case "abducted": f.abducted
                default: f.displaced
                }
            }
            let average = Double(values.reduce(0, +)) / 4
            #expect(number(digest["four_week_average"], key) == average, "\(key)")
            let current = number(digest["totals"], key)!
            #expect(number(digest["changes"]?.objectValue?["vs_four_week_average"], key) == ((current - average) * 100).rounded() / 100, "\(key)")
            #expect(number(digest["changes"]?.objectValue?["vs_previous_week"], key) == current - number(digest["previous_week"], key)!, "\(key)")
        }
        return four
    }

    /// This week's digest holds the revisions recorded during it of earlier weeks' open incidents; last week's none.
    private func revisionsAreThoseRecordedInTheWeek(_ api: API, digest: [String: JSONValue], thisWeek: IsoWeek, naive: NaiveFigures) async throws {
        let current = try #require(try await api.call(.get, "/v1/digests/weekly?week=\(thisWeek)", token: api.analyst).json?.objectValue)
        let interval = thisWeek.interval
        let expectedRevisions = try await api.db.pool.withConnection { connection -> Int in
            try connection.query(
                """
                SELECT stream, type FROM events WHERE recorded_at >= $1 AND recorded_at < $2
                  AND type IN ('IncidentAmended', 'IncidentVerified', 'IncidentRejected', 'IncidentRetracted')
                """, [interval.start, interval.end]
            ).rows.filter { row in
                let id = IncidentEvent.incidentID(fromStream: try row.decode(0))!
                let state = naive.states[id]!
                return state.record.occurredDay < thisWeek.from && state.record.sensitivity != .confidential
            }.count
        }
        #expect((current["revisions"]?.arrayValue?.count ?? -1) == expectedRevisions)
        #expect(digest["revisions"]?.arrayValue?.isEmpty == true, "nothing was recorded during last week")
        #expect(expectedRevisions > 0, "the seeded history revises incidents of earlier weeks")
    }

    /// Notable incidents: of this week, counted, never confidential, most casualties first, no personal data.
    private func notableIncidentsAreOfTheWeekAndOpen(_ digest: [String: JSONValue], week: IsoWeek, naive: NaiveFigures) throws {
        let notable = digest["notable"]?.arrayValue ?? []
        for item in notable {
            let id = UUID(uuidString: item.objectValue?["incident_id"]?.stringValue ?? "")!
            let state = naive.states[id]!
            #expect(state.record.sensitivity != .confidential)
            #expect(state.status.counts)
            #expect(state.record.occurredDay >= week.from && state.record.occurredDay <= week.to)
            #expect(item.objectValue?["personal"] == nil && item.objectValue?["reported_by"] == nil)
        }
        let casualties = notable.map { number($0, "killed")! + number($0, "injured")! }
        #expect(casualties == casualties.sorted(by: >))
    }

    @Test("rebuild over HTTP: admins only, 202, swapped in with the same figures")
    func rebuild() async throws {
        try await API.run { api in
            for _ in 0..<5 { try await api.call(.post, "/v1/incidents", token: api.reporter, json: report(["injured": 1])) }
            try await api.settle()
            let path = "/v1/summaries?level=municipality"
            let before = try await api.call(.get, path, token: api.analyst).json?.objectValue?["rows"]
            #expect(try await api.call(.post, "/v1/admin/projections/region_summary:rebuild", token: api.analyst).status == 403)
            #expect(try await api.call(.post, "/v1/admin/projections/nothing:rebuild", token: api.admin).status == 404)
            #expect(try await api.call(.post, "/v1/admin/projections/region_summary:rebuild", token: api.admin).status == 202)
            var done = false
            for _ in 0..<200 where !done {
                let status = try await api.call(.get, "/v1/admin/projections", token: api.admin)
                let entry = status["projections"]?.arrayValue?.first { $0.objectValue?["name"] == "region_summary" }
                done = entry?.objectValue?["rebuilding"] == false && entry?.objectValue?["rebuilt_at"] != .null
                if !done { try await Task.sleep(for: .milliseconds(25)) }
            }
            #expect(done)
            #expect(try await api.call(.get, path, token: api.analyst).json?.objectValue?["rows"] == before)
            #expect(api.logs.text.contains("projection rebuilt and swapped in"))
        }
    }
}
