import Foundation
import Hummingbird
import IncidentStore
import PostgresLibpq

// `/`: the period's figures by municipality on a map and in a table, the change against the
// period before, and the last eight weeks.
extension ConsoleController {
    @Sendable func overview(_ request: Request, context: APIContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let query = ConsoleForm.query(request)
        let period = ConsolePeriod(since: query.text("since"), until: query.text("until"))
        let category = query.text("category")
        let service = deps.service
        let current: RegionSummary
        do {
            current = try await service.summary(level: "municipality", since: period.since, until: period.until, category: category, for: principal)
        } catch ServiceError.invalid(let failure) {
            let values: [String: Any] = ["title": "Overview", "message": failure.description, "since": period.since, "until": period.until]
            return ConsolePage.render("overview", values, session: ConsoleSession(context), status: .unprocessableContent)
        }
        let previous = try await service.summary(level: "municipality", since: period.previous.since, until: period.previous.until, category: category, for: principal)
        let trend = try await service.weeklyTrend(endingWith: period.trendEnd, category: category, for: principal)
        let byMunicipality = Self.totals(current)
        let total = byMunicipality.values.reduce(into: SummaryFigures()) { $0 += $1 }
        let previousTotal = Self.totals(previous).values.reduce(into: SummaryFigures()) { $0 += $1 }
        let regions = service.reference.regions
        let rows: [[String: Any]] = regions.municipalities.map { municipality in
            let figures = byMunicipality[municipality.code] ?? SummaryFigures()
            return [
                "name": municipality.displayName, "district": regions.district(code: municipality.districtCode)?.displayName ?? municipality.districtCode,
                "href": period.incidentsLink(municipality: municipality.code, category: category), "incidents": figures.incidents,
                "verified": figures.verified, "killed": figures.killed, "injured": figures.injured, "abducted": figures.abducted, "displaced": figures.displaced,
            ]
        }
        let values: [String: Any] = [
            "title": "Overview", "since": period.since, "until": period.until, "previousSince": period.previous.since, "previousUntil": period.previous.until,
            "categories": Self.options(service.reference.taxonomy.categories.map { ($0.code, $0.label) }, selected: category),
            "figures": Self.keyFigures(total, previousTotal), "rows": rows, "disclosure": Self.disclosureNote(current.disclosure),
            "map": ConsoleGraphics.map(byMunicipality, regions: regions, link: { period.incidentsLink(municipality: $0, category: category) }),
            "trend": ConsoleGraphics.trend(trend),
        ]
        return ConsolePage.render("overview", values, session: ConsoleSession(context))
    }

    /// A summary's figures per municipality, over its categories.
    static func totals(_ summary: RegionSummary) -> [String: SummaryFigures] {
        summary.rows.reduce(into: [:]) { totals, row in totals[row.code, default: SummaryFigures()] += row.figures }
    }

    static func keyFigures(_ now: SummaryFigures, _ before: SummaryFigures) -> [[String: Any]] {
        [
            ("Incidents", \SummaryFigures.incidents), ("Verified", \.verified), ("Killed", \.killed), ("Injured", \.injured), ("Abducted", \.abducted),
            ("Displaced", \.displaced),
        ]
        .map { label, field in
            let change = now[keyPath: field] - before[keyPath: field]
            return ["label": label, "value": now[keyPath: field], "change": change == 0 ? "no change" : String(format: "%+d vs before", change)]
        }
    }

    static func disclosureNote(_ applied: Disclosure.Applied) -> String {
        applied.confidential == .exact
            ? "Figures include confidential incidents."
            : "Confidential incidents count only in cells of at least \(applied.threshold)."
    }

    /// The options of a select, the chosen one marked.
    static func options(_ choices: [(code: String, label: String)], selected: String?) -> [[String: Any]] {
        choices.map { ["code": $0.code, "label": $0.label, "selected": $0.code == selected] }
    }
}

/// The overview's period: given days, or by default the last four complete ISO weeks; the
/// period before it of the same length; and the eight weeks that end with it.
struct ConsolePeriod {
    var since: String
    var until: String

    init(since: String?, until: String?, now: Date = Date()) {
        let lastWeek = IsoWeek.last(before: now)
        self.until = until ?? lastWeek.to
        self.since = since ?? lastWeek.advanced(by: -3).from
    }

    /// The days before `since`, as many as the period has.
    var previous: (since: String, until: String) {
        guard let start = Self.dayNumber(since), let end = Self.dayNumber(until) else { return (since, until) }
        return (Self.day(start - (end - start + 1)), Self.day(start - 1))
    }

    /// The last of the trend's eight weeks: the one the period ends in.
    var trendEnd: IsoWeek { IsoWeek(containing: until) ?? IsoWeek.last(before: Date()) }

    func incidentsLink(municipality: String, category: String?) -> String {
        "/incidents?municipality=\(municipality)&since=\(since)&until=\(until)" + (category.map { "&category=\($0)" } ?? "")
    }

    static func dayNumber(_ day: String) -> Int? {
        IncidentTime.parseDay(day).map { CivilTime.daysFromCivil(year: $0.year, month: $0.month, day: $0.day) }
    }

    static func day(_ number: Int) -> String {
        let civil = CivilTime.civil(number)
        return CivilTime.day(civil.year, civil.month, civil.day)
    }
}
