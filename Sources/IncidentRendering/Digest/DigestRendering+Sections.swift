import Foundation

// The content both renderers draw: the sections of a digest as tables of plain text.
extension DigestRendering {
    static let figureNames = ["Incidents", "Verified", "Killed", "Injured", "Abducted", "Displaced"]
    static let revisionLimit = 50

    /// A table both renderers can draw; cells are plain text, escaped by the renderer.
    struct Table {
        var headers: [String], rows: [[String]], numeric: Set<Int>, emphasized: Set<Int> = []
        /// CSS class of the HTML table ("matrix", "dense" rotates column headers, "compact" uses smaller type).
        var style = ""
    }
    struct Section {
        enum Kind { case keyFigures, districts, movers, notable, revisions, trend }
        let kind: Kind, title: String, table: Table, empty: String
        var note: String? = nil
    }
    /// Incident counts by district (rows, in data order) and category (columns, most frequent first).
    struct Matrix {
        var districts: [(code: String, name: String)] = [], categories: [String] = []
        var cells: [String: [String: Int]] = [:]
        func count(_ district: String, _ category: String) -> Int { cells[district]?[category] ?? 0 }
        func total(district: String) -> Int { cells[district]?.values.reduce(0, +) ?? 0 }
        func total(category: String) -> Int { cells.values.reduce(0) { $0 + ($1[category] ?? 0) } }
    }

    static func matrix(_ digest: DigestDocument) -> Matrix {
        var grid = Matrix(), categoryTotals: [String: Int] = [:]
        for row in digest.byRegion {
            if !grid.districts.contains(where: { $0.code == row.district }) { grid.districts.append((row.district, row.districtName)) }
            grid.cells[row.district, default: [:]][row.category, default: 0] += row.incidents
            categoryTotals[row.category, default: 0] += row.incidents
        }
        grid.categories = categoryTotals.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map(\.key)
        return grid
    }

    /// The six sections in the order both renderers show them.
    static func sections(_ d: DigestDocument, _ grid: Matrix) -> [Section] {
        [keyFiguresSection(d), districtSection(grid), moversSection(d), notableSection(d), revisionsSection(d), trendSection(d)]
    }

    /// This week's figures against the previous week and the four-week average.
    static func keyFiguresSection(_ d: DigestDocument) -> Section {
        let (now, before, average) = (d.totals.ordered, d.previousWeek.ordered, d.fourWeekAverage.ordered)
        let (vsBefore, vsAverage) = (d.changes.vsPreviousWeek.ordered, d.changes.vsFourWeekAverage.ordered)
        let keyRows = figureNames.indices.map {
            [figureNames[$0], number(now[$0]), number(before[$0]), signed(vsBefore[$0]), number(average[$0]), signed(vsAverage[$0])]
        }
        let table = Table(headers: ["Figure", "This week", "Previous week", "Change", "4-week average", "Change vs average"], rows: keyRows, numeric: [1, 2, 3, 4, 5])
        return Section(kind: .keyFigures, title: "Key figures", table: table, empty: "")
    }

    /// District × category counts, with a total row and column.
    static func districtSection(_ grid: Matrix) -> Section {
        var districtRows = grid.districts.map { district in
            [district.name] + grid.categories.map { dash(grid.count(district.code, $0)) } + [String(grid.total(district: district.code))]
        }
        districtRows.append(
            ["Total"] + grid.categories.map { String(grid.total(category: $0)) }
                + [String(grid.districts.reduce(0) { $0 + grid.total(district: $1.code) })])
        return Section(
            kind: .districts, title: "Incidents by district and category",
            table: Table(
                headers: ["District"] + grid.categories.map(humanize) + ["Total"],
                rows: grid.districts.isEmpty ? [] : districtRows,
                numeric: Set(1...(grid.categories.count + 1)), emphasized: [grid.districts.count],
                style: grid.categories.count > 5 ? "matrix dense" : "matrix"),
            empty: "No incidents recorded this week.")
    }

    /// The municipalities whose counts moved most against the previous week.
    static func moversSection(_ d: DigestDocument) -> Section {
        let districtNames = Dictionary(d.byRegion.map { ($0.district, $0.districtName) }) { first, _ in first }
        let movers = d.movers.map {
            [$0.name, districtNames[$0.district] ?? $0.district, String($0.incidents), String($0.previousWeek), signed(Double($0.change))]
        }
        let table = Table(headers: ["Municipality", "District", "This week", "Previous week", "Change"], rows: movers, numeric: [2, 3, 4])
        return Section(kind: .movers, title: "Top-moving municipalities", table: table, empty: "None this week.")
    }

    /// The incidents singled out for the reader.
    static func notableSection(_ d: DigestDocument) -> Section {
        let notable = d.notable.map { n in
            [
                shortDay(n.occurredDay, withYear: false), n.municipalityName,
                humanize(n.category) + (n.subcategory.map { " / " + humanize($0) } ?? ""), humanize(n.status),
                casualties([(n.killed, "killed"), (n.injured, "injured"), (n.abducted, "abducted"), (n.displaced, "displaced")]),
                n.summary,
            ]
        }
        let table = Table(headers: ["Day", "Municipality", "Category", "Status", "Casualties", "Summary"], rows: notable, numeric: [])
        return Section(kind: .notable, title: "Notable incidents", table: table, empty: "None this week.")
    }

    /// Changes to earlier incidents, the first `revisionLimit` of them and a count of the rest.
    static func revisionsSection(_ d: DigestDocument) -> Section {
        let municipalityNames = Dictionary(
            d.byRegion.map { ($0.municipality, $0.municipalityName) }
                + d.notable.map { ($0.municipality, $0.municipalityName) } + d.movers.map { ($0.municipality, $0.name) }
        ) { a, _ in a }
        let revisions = d.revisions.prefix(revisionLimit).map { r in
            let detail = r.fields.map { "Fields: " + $0.joined(separator: ", ") } ?? r.reason.map { "Reason: " + $0 } ?? ""
            let recorded = shortDay(String(r.recordedAt.prefix(10)), withYear: false) + "\u{A0}" + r.recordedAt.dropFirst(11).prefix(5)
            return [
                recorded, String(r.incidentID.prefix(8)), humanize(r.change), shortDay(r.occurredDay, withYear: true),
                municipalityNames[r.municipality] ?? r.municipality, humanize(r.category), detail,
            ]
        }
        let hidden = d.revisions.count - revisions.count
        return Section(
            kind: .revisions, title: "Revisions since the previous digest",
            table: Table(
                headers: [
                    "Recorded (UTC)",
                    "Incident", "Change", "Occurred", "Municipality", "Category", "Details",
                ], rows: revisions, numeric: [],
                style: "compact"),
            empty: "None.", note: hidden > 0 ? "… and \(hidden) more." : nil)
    }

    /// The eight-week trend, the digest's week emphasized.
    static func trendSection(_ d: DigestDocument) -> Section {
        let current = d.trend.lastIndex { $0.week == d.week } ?? d.trend.count - 1
        let trend = d.trend.map {
            [$0.week, shortDay($0.from, withYear: true), String($0.incidents), String($0.killed), String($0.injured)]
        }
        return Section(
            kind: .trend, title: "8-week trend",
            table: Table(
                headers: [
                    "Week", "From", "Incidents", "Killed",
                    "Injured",
                ], rows: trend, numeric: [2, 3, 4], emphasized: [current]), empty: "No trend data.")
    }
}
