import Foundation
import IncidentTesting
import PostgresLibpq
import Testing

@testable import IncidentStore

@Suite("The weekly trend: one statement, the same figures as a summary of each week")
struct WeeklyTrendTests {
    @Test("for analysts (coarsened) and admins (exact), of all categories and of one, each week's totals equal that week's summary")
    func trendEqualsWeeklySummaries() async throws {
        try await TestDatabase.with { db in
            let reference = try await ReferenceData.load(db.pool)
            let service = IncidentService(pool: db.pool, reference: reference, keys: TestKeys.ring, disclosure: Disclosure(threshold: 2))
            var history = RandomHistory(service: service, seed: 41, days: 60)
            try await history.run(160)
            try await catchUpFully([RegionSummaryProjection(regions: reference.regions)], db.pool)
            let end = IsoWeek.last(before: Date())
            for principal in [Principal(name: "t.analyst", role: .analyst), Principal(name: "t.admin", role: .admin)] {
                for category in [nil, "ethnic_violence"] as [String?] {
                    let trend = try await service.weeklyTrend(endingWith: end, category: category, for: principal)
                    #expect(trend.map(\.week) == (0..<8).map { end.advanced(by: $0 - 7) })
                    for (week, figures) in trend {
                        let summary = try await service.summary(level: "district", since: week.from, until: week.to, category: category, for: principal)
                        #expect(figures == summary.rows.reduce(into: SummaryFigures()) { $0 += $1.figures }, "\(principal.role) \(String(describing: category)) \(week)")
                    }
                }
            }
            #expect(try await service.weeklyTrend(endingWith: end, category: nil, for: Principal(name: "a", role: .analyst)).contains { $0.figures.incidents > 0 })
        }
    }
}
