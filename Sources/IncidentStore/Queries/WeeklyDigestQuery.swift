import Foundation
import PostgresLibpq

/// The queries of one weekly digest, in one snapshot, as the principal's disclosure rule lets
/// them count: the day rows of `region_summary` (``Disclosure/visibleDays(_:)``), the notable
/// incidents from `incidents`, and the revisions from the log.
struct WeeklyDigestQuery {
    let week: IsoWeek
    let regions: RegionDirectory
    let narrative: NarrativeVault
    let disclosure: Disclosure
    let rule: Disclosure.Rule
    let connection: PostgresConnection
    /// The day rows the rule lets count.
    let days: String

    init(week: IsoWeek, regions: RegionDirectory, narrative: NarrativeVault, disclosure: Disclosure, principal: Principal, connection: PostgresConnection) {
        (self.week, self.regions, self.narrative, self.disclosure, self.connection) = (week, regions, narrative, disclosure, connection)
        rule = disclosure.rule(for: principal)
        days = Disclosure.visibleDays(rule)
    }

    /// Eight weeks of totals, by their Monday: the trend, the previous week and the four-week
    /// average; of one category, or of all when `category` is nil. For coarsened figures the
    /// weeks' totals add the qualifying cells (whole weeks, district level), `$4` the threshold.
    func weeklyTotals(category: String? = nil) throws -> [String: SummaryFigures] {
        let first = week.advanced(by: -7)
        var byWeek: [String: SummaryFigures] = [:]
        let kept = "day BETWEEN $1::date AND $2::date AND ($3::text IS NULL OR category = $3)"
        let cells =
            rule == .exact
            ? ""
            : " UNION ALL SELECT week, " + SummaryFigures.columns + " FROM (" + Disclosure.qualifyingCells(where: kept, threshold: "$4") + ") AS cells"
        for row in try connection.query(
            "SELECT monday::text, " + SummaryFigures.sums + " FROM (SELECT iso_monday(day) AS monday, " + SummaryFigures.columns + " FROM " + days
                + " WHERE " + kept + cells + ") AS weeks GROUP BY 1",
            rule == .exact ? [first.from, week.to, category] : [first.from, week.to, category, disclosure.threshold]
        ).rows {
            byWeek[try row.decode(0)] = try SummaryFigures(row: row, from: 1)
        }
        return byWeek
    }

    func byRegion() throws -> [WeeklyDigest.RegionRow] {
        try connection.query(
            "SELECT district, municipality, category, " + SummaryFigures.sums + " FROM " + days + """
                 WHERE day BETWEEN $1::date AND $2::date
                GROUP BY 1, 2, 3 HAVING sum(incidents) > 0 ORDER BY 1, 2, 3
                """, [week.from, week.to]
        ).rows.map { row in
            let district: String = try row.decode(0), municipality: String = try row.decode(1)
            return WeeklyDigest.RegionRow(
                district: district, districtName: regions.district(code: district)?.displayName ?? district,
                municipality: municipality, municipalityName: regions.municipality(code: municipality)?.displayName ?? municipality,
                category: try row.decode(2), figures: try SummaryFigures(row: row, from: 3)
            )
        }
    }

    /// The municipalities whose count changed most from the week before.
    func movers(limit: Int) throws -> [WeeklyDigest.Mover] {
        let movers = try connection.query(
            """
            SELECT municipality, district,
                   coalesce(sum(incidents) FILTER (WHERE day >= $2::date), 0) AS this_week,
                   coalesce(sum(incidents) FILTER (WHERE day < $2::date), 0) AS previous_week
            FROM
            """ + " " + days + " WHERE day BETWEEN $1::date AND $3::date GROUP BY 1, 2", [week.advanced(by: -1).from, week.from, week.to]
        ).rows.map { row -> WeeklyDigest.Mover in
            let code: String = try row.decode(0), now: Int = try row.decode(2), before: Int = try row.decode(3)
            return WeeklyDigest.Mover(
                municipality: code, name: regions.municipality(code: code)?.displayName ?? code,
                district: try row.decode(1), incidents: now, previousWeek: before, change: now - before)
        }
        return Array(movers.filter { $0.change != 0 }.sorted { (abs($0.change), $1.municipality) > (abs($1.change), $0.municipality) }.prefix(limit))
    }

    /// The week's gravest incidents that are not confidential.
    func notable(limit: Int) throws -> [WeeklyDigest.Notable] {
        try connection.query(
            """
            SELECT incident_id, occurred_day::text AS day, municipality, category, subcategory, status, record->>'summary' AS summary,
                   killed, injured, abducted, displaced
            FROM incidents
            WHERE occurred_day BETWEEN $1::date AND $2::date AND status IN ('reported', 'verified') AND sensitivity <> 'confidential'
            ORDER BY killed + injured DESC, killed DESC, abducted DESC, displaced DESC, occurred_at, incident_id
            LIMIT $3
            """, [week.from, week.to, limit]
        ).rows.map { row in
            let municipality: String = try row.decode(2)
            return WeeklyDigest.Notable(
                incidentID: try row.decode(0), occurredDay: try row.decode(1), municipality: municipality,
                municipalityName: regions.municipality(code: municipality)?.displayName ?? municipality,
                category: try row.decode(3), subcategory: try row.decode(4), status: try row.decode(5),
                summary: IncidentService.shortened(try row.decode(6)), killed: try row.decode(7), injured: try row.decode(8),
                abducted: try row.decode(9), displaced: try row.decode(10)
            )
        }
    }

    /// Revisions recorded this week of incidents that occurred before it. Amendments name their
    /// changed fields only: the sealed ones (text) are opened to be named.
    func revisions() throws -> [WeeklyDigest.Revision] {
        let revisions = try LogReads.revisions(recordedIn: week.interval, occurredBefore: week.from, on: connection)
        let sealedKeys = try narrative.keys.all(.narrative, of: revisions.map(\.incidentID), on: connection)
        return revisions.map { revision in
            let type = revision.type
            let data =
                IncidentEvent.EventType(rawValue: type).map {
                    NarrativeVault.open(revision.data, type: $0, incidentID: revision.incidentID) { sealedKeys[revision.incidentID]?[$0] }
                } ?? revision.data
            let change =
                switch type {
                case "IncidentAmended": "amended"
                case "IncidentVerified": "verified"
                case "IncidentRejected": "rejected"
                default: "retracted"
                }
            return WeeklyDigest.Revision(
                incidentID: revision.incidentID, change: change, recordedAt: revision.recordedAt, occurredDay: revision.occurredDay,
                municipality: revision.municipality, category: revision.category,
                fields: type == "IncidentAmended" ? data.objectValue?["changes"]?.objectValue?.keys.sorted().map { $0 == "personal" ? "personal (sealed)" : $0 } : nil,
                reason: type == "IncidentRetracted" ? data.objectValue?["reason"]?.stringValue : nil
            )
        }
    }
}
