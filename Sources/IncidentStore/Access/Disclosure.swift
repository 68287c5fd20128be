import Foundation
import PostgresLibpq

/// What a principal may see of incidents, and at what granularity: the one statement of it.
/// Every read path asks here — an incident, its history, the list, the log, the figures.
///
/// - Reporters see their own incidents; reviewers and admins every incident and exact figures.
/// - Analysts see every incident that is not confidential now; in the log, none that ever was;
///   in an incident's history, nothing from before it stopped being confidential. In figures,
///   confidential incidents count only in cells of district × ISO week × category holding at
///   least `threshold` of them, and only for weeks wholly inside the period asked for: every
///   figure an analyst gets is then its exact non-confidential count plus whole qualifying cells,
///   so no difference of two figures (periods, levels, categories, lists) counts fewer than
///   `threshold` confidential incidents. A municipality or day figure counts non-confidential
///   incidents only, and agrees with what the analyst can list.
public struct Disclosure: Sendable, Equatable {
    /// How confidential incidents count in a principal's figures.
    public enum Rule: String, Sendable, Encodable {
        /// Every incident, exactly.
        case exact
        /// Only in qualifying district × week × category cells (see ``Disclosure``).
        case coarsened
    }

    public static let defaultThreshold = 5

    /// The smallest number of confidential incidents a cell must hold to count for analysts.
    public let threshold: Int

    public init(threshold: Int = Disclosure.defaultThreshold) {
        self.threshold = max(1, threshold)
    }

    public func rule(for principal: Principal) -> Rule {
        switch principal.role {
        case .admin, .reviewer: .exact
        case .analyst, .reporter, .metrics: .coarsened
        }
    }

    /// What applied to one answer: `{"threshold": k, "confidential": "exact" | "coarsened"}`,
    /// the `disclosure` member of every answer with figures.
    public struct Applied: Sendable, Encodable, Equatable {
        public var threshold: Int
        public var confidential: Rule

        public var json: JSONValue { ["threshold": .number(Double(threshold)), "confidential": .string(confidential.rawValue)] }
    }

    public func applied(for principal: Principal) -> Applied {
        Applied(threshold: threshold, confidential: rule(for: principal))
    }

    // MARK: - Incidents

    /// Whether the principal may see who reported an incident and who wrote each of its events:
    /// analysts see what happened, never which reporter or reviewer said so.
    public static func seesWhoActed(_ principal: Principal) -> Bool { principal.role != .analyst }

    /// Whether the principal may see the incident at all.
    public static func canSee(_ state: IncidentState, _ principal: Principal) -> Bool {
        switch principal.role {
        case .admin, .reviewer: true
        case .reporter: state.reportedBy == principal.name
        case .analyst: state.record.sensitivity != .confidential
        case .metrics: false
        }
    }

    /// The part of an incident's history the principal may see (the incident itself visible):
    /// for analysts, from the event that last made it non-confidential on.
    public static func visibleHistory(_ events: [RecordedEvent], for principal: Principal) -> [RecordedEvent] {
        guard principal.role == .analyst else { return events }
        var start = 0
        var confidential = false
        for (index, event) in events.enumerated() {
            let data = event.data.objectValue
            let sensitivity =
                event.type == IncidentEvent.EventType.reported.rawValue
                ? data?["sensitivity"]?.stringValue
                : data?["changes"]?.objectValue?["sensitivity"]?.stringValue
            guard let sensitivity else { continue }
            let now = sensitivity == Sensitivity.confidential.rawValue
            if confidential, !now { start = index }
            confidential = now
        }
        return Array(events[start...])
    }

    /// The condition on `incidents` rows for the principal's list (nil: every row); `bind`
    /// turns a value into a statement parameter.
    static func listCondition(for principal: Principal, bind: (String) -> String) -> String? {
        switch principal.role {
        case .admin, .reviewer: nil
        case .analyst: "sensitivity <> 'confidential'"
        case .reporter: "reported_by = " + bind(principal.name)
        case .metrics: "false"
        }
    }

    /// Whether the principal's list may hold confidential incidents (what ``listCondition(for:bind:)``
    /// keeps): a search then reads their rows, which hold the text sealed, to match them once opened.
    static func listsConfidential(_ principal: Principal) -> Bool {
        switch principal.role {
        case .admin, .reviewer, .reporter: true
        case .analyst, .metrics: false
        }
    }

    /// Whether the principal reads the log whole; else ``hiddenStreams(_:on:)`` says what to leave out.
    public static func readsWholeLog(_ principal: Principal) -> Bool { principal.role == .admin }

    /// Of `streams`, those the log leaves out for a principal that does not read it whole: every
    /// incident that ever was confidential (and never personal data, which the renderer drops).
    public static func hiddenStreams(_ streams: [String], on connection: PostgresConnection) throws -> Set<String> {
        try LogReads.streamsEverConfidential(streams, on: connection)
    }

    // MARK: - Figures

    /// The figures per `code` (a district or municipality column) and category of the buckets
    /// `source` selects from a day table and its week table, as `rule` lets them count. `$1`/`$2`
    /// the period (open ends null), `$3` the category or null, `$5`/`$6` the first Monday and last
    /// Sunday of the period; `$7` the threshold when coarsened.
    ///
    /// Coarsened: the exact buckets, less every confidential incident of the period at that level
    /// (`region_summary_confidential`), plus — at district level — the qualifying cells of the
    /// weeks wholly inside the period.
    /// The statement parameters ``figures(exact:by:rule:)`` adds after the caller's six: the
    /// threshold where qualifying cells are read (district level, coarsened), none otherwise.
    func figureParameters(by column: String, rule: Rule) -> [any PostgresEncodable] {
        rule == .coarsened && column == "district" ? [threshold] : []
    }

    static func figures(exact: String, by column: String, rule: Rule) -> String {
        guard rule == .coarsened else { return exact }
        var parts = [
            "SELECT * FROM (" + exact + ") AS exact (code, category, " + SummaryFigures.columns + ")",
            "SELECT " + column + " AS code, category, " + SummaryFigures.negatedColumns + " FROM " + BucketTable.confidential.name + """

                WHERE day >= coalesce($1::date, '-infinity') AND day <= coalesce($2::date, 'infinity') AND ($3::text IS NULL OR category = $3)
                """,
        ]
        if column == "district" {
            parts.append(
                "SELECT district, category, " + SummaryFigures.columns + " FROM ("
                    + qualifyingCells(where: "day >= coalesce($5::date, '-infinity') AND day <= coalesce($6::date, 'infinity') AND ($3::text IS NULL OR category = $3)")
                    + ") AS cells WHERE week >= coalesce($5::date, '-infinity') AND week + 6 <= coalesce($6::date, 'infinity')")
        }
        return "SELECT code, category, " + SummaryFigures.sums + " FROM (" + parts.joined(separator: "\nUNION ALL\n")
            + ") AS figures GROUP BY 1, 2 HAVING sum(incidents) > 0"
    }

    /// The district × ISO week × category cells of confidential incidents that hold at least the
    /// threshold (the parameter `threshold` names), with their figures: `week, district, category` and the six columns. Only
    /// the days `condition` keeps are read: a cell of a week wholly inside them is whole.
    static func qualifyingCells(where condition: String, threshold: String = "$7") -> String {
        "SELECT iso_monday(day) AS week, district, category, " + SummaryFigures.namedSums
            + " FROM " + BucketTable.confidential.name + " WHERE " + condition + " GROUP BY 1, 2, 3 HAVING sum(incidents) >= " + threshold + "::int"
    }

    /// The summary's day rows (`day, municipality, district, category` and the six columns) as the
    /// rule lets them count, without cells: for coarsened, every confidential incident taken out.
    static func visibleDays(_ rule: Rule) -> String {
        let (days, confidential) = (BucketTable.municipalityDays.name, BucketTable.confidential.name)
        guard rule == .coarsened else { return days }
        return "(SELECT day, municipality, district, category, " + SummaryFigures.columns + " FROM " + days + " UNION ALL "
            + "SELECT day, municipality, district, category, " + SummaryFigures.negatedColumns + " FROM " + confidential + ") AS visible"
    }
}
