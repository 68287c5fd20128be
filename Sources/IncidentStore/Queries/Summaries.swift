import Foundation
import PostgresLibpq

public enum SummaryLevel: String, Sendable, Codable, CaseIterable {
    case district, municipality
}

/// `GET /v1/summaries`: figures per region and category over a period, from `region_summary`.
public struct RegionSummary: Sendable {
    public struct Row: Sendable, Equatable {
        public var code: String
        public var name: String
        public var category: String
        public var figures: SummaryFigures
    }

    public var level: SummaryLevel
    public var since: String?
    public var until: String?
    public var category: String?
    public var rows: [Row]
    /// Every committed event up to this global position is in the figures.
    public var asOf: Int64
    /// How confidential incidents count in these figures.
    public var disclosure: Disclosure.Applied

    /// The answer's JSON, written directly: through `Encodable` and back would be a large part
    /// of a summary request's time in the daemon.
    public var json: JSONValue {
        .object([
            "level": .string(level.rawValue), "since": since.map(JSONValue.string) ?? .null, "until": until.map(JSONValue.string) ?? .null,
            "category": category.map(JSONValue.string) ?? .null, "as_of": .number(Double(asOf)), "disclosure": disclosure.json,
            "rows": .array(
                rows.map { row in
                    var fields = row.figures.fields
                    fields["code"] = .string(row.code)
                    fields["name"] = .string(row.name)
                    fields["category"] = .string(row.category)
                    return .object(fields)
                }),
        ])
    }
}

extension IncidentService {
    /// The figures per region (`municipality` or `district`) and category over `$1...$2` (open
    /// ends when null), of category `$3` or all: the whole weeks of the period (`$5`, the first
    /// Monday on or after `$1`, to `$6`, the last Sunday on or before `$2`) from the level's week
    /// table, its other days from its day table. Over whole weeks that is a seventh of the rows.
    ///
    /// The day table is named first: a statement locks its tables in the order it names them, and
    /// a rebuild's swap renames them in the order of ``RegionSummaryProjection/tables`` (days
    /// before weeks); in the other order, a summary and a swap deadlocked.
    static func buckets(_ level: SummaryLevel) -> String {
        level == .district ? districtBuckets : municipalityBuckets
    }

    private static let districtBuckets = buckets(BucketTable.tables(of: .district))
    private static let municipalityBuckets = buckets(BucketTable.tables(of: .municipality))

    private static func buckets(_ tables: (days: BucketTable, weeks: BucketTable)) -> String {
        let (column, days, weeks) = (tables.days.regionColumn, tables.days.name, tables.weeks.name)
        return "SELECT code, category, " + SummaryFigures.sums + " FROM (SELECT " + column
            + " AS code, category, " + SummaryFigures.columns + " FROM " + days + """

                    WHERE day >= coalesce($1::date, '-infinity') AND day <= coalesce($2::date, 'infinity')
                      AND (day < coalesce($5::date, '-infinity') OR day > coalesce($6::date, 'infinity'))
                      AND ($3::text IS NULL OR category = $3)
                UNION ALL
                SELECT
                """ + " " + column + ", category, " + SummaryFigures.columns + " FROM " + weeks + """

                    WHERE week >= coalesce($5::date, '-infinity') AND week + 6 <= coalesce($6::date, 'infinity')
                      AND ($3::text IS NULL OR category = $3)
                ) AS buckets
                GROUP BY 1, 2 HAVING sum(incidents) > 0
                """
    }

    /// The first Monday on or after a day (`YYYY-MM-DD`, already checked).
    static func firstMonday(_ day: String) -> String? {
        IsoWeek(containing: day).map { $0.from == day ? $0 : $0.advanced(by: 1) }?.from
    }

    /// The last Sunday on or before a day (`YYYY-MM-DD`, already checked).
    static func lastSunday(_ day: String) -> String? {
        IsoWeek(containing: day).map { $0.to == day ? $0 : $0.advanced(by: -1) }?.to
    }
}

/// A coding key made from any string.
struct Key: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(_ string: String) { stringValue = string }
    init?(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension IncidentService {
    /// Figures per district or municipality and category over `since...until` (Kosovo days,
    /// inclusive; open ends when nil). Confidential incidents count as ``Disclosure`` says.
    /// - Throws: ``ServiceError/forbidden(_:)`` for reporters; ``ServiceError/invalid(_:)`` naming each bad parameter.
    public func summary(level: String?, since: String?, until: String?, category: String?, for principal: Principal) async throws -> RegionSummary {
        try Self.authorize(.readFigures, principal)
        var errors: [FieldError] = []
        let parsedLevel = SummaryLevel(rawValue: level ?? SummaryLevel.district.rawValue)
        if parsedLevel == nil { errors.append(FieldError("level", "must be district or municipality")) }
        for (field, value) in [("since", since), ("until", until)] where value.map({ IncidentTime.parseDay($0) == nil }) ?? false {
            errors.append(FieldError(field, "must be a date YYYY-MM-DD"))
        }
        if let since, let until, IncidentTime.parseDay(since) != nil, IncidentTime.parseDay(until) != nil, since > until {
            errors.append(FieldError("until", "must not be before since"))
        }
        if let category, reference.taxonomy.category(category) == nil {
            errors.append(FieldError("category", "unknown category '\(category)'; one of \(reference.taxonomy.categories.map(\.code).joined(separator: ", "))"))
        }
        guard errors.isEmpty, let level = parsedLevel else { throw ServiceError.invalid(ValidationFailure(errors)) }

        let regions = reference.regions
        let rule = disclosure.rule(for: principal)
        let boundParameters: [(any PostgresEncodable)?] =
            [
                since, until, category, RegionSummaryProjection.name, since.flatMap(Self.firstMonday), until.flatMap(Self.lastSunday),
            ] + disclosure.figureParameters(by: level.rawValue, rule: rule)
        // One statement, so one snapshot for the figures and the position they include, taken
        // after its tables are locked: a rebuild swapped in meanwhile is seen whole (tables and
        // checkpoint) or not at all. Planned with its period: a plan for any period sorts the
        // buckets to group them, which is slower than the hash the planner picks for a known
        // period. The position
        // is worked out once (MATERIALIZED), not again for each row of figures it is joined to.
        let rows = try await reads.withConnection { connection in
            try connection.query(
                "WITH log_position AS MATERIALIZED (" + RegionSummaryProjection.positionQuery(name: "$4") + "), figures AS ("
                    + Disclosure.figures(exact: Self.buckets(level), by: level.rawValue, rule: rule) + """
                            )
                        SELECT log_position.*, figures.* FROM log_position LEFT JOIN figures ON true ORDER BY figures.code, figures.category
                        """, boundParameters
            ).rows
        }
        // The position's four columns, then (unless no figure counts) the region, category and figures.
        guard let first = rows.first else { throw DatabaseError(kind: .server, message: "the summary statement returned no row") }
        return RegionSummary(
            level: level, since: since, until: until, category: category,
            rows: try rows.compactMap { row in
                guard let code: String = try row.decodeIfPresent(4) else { return nil }
                let name = level == .district ? regions.district(code: code)?.displayName : regions.municipality(code: code)?.displayName
                return RegionSummary.Row(code: code, name: name ?? code, category: try row.decode(5), figures: try SummaryFigures(row: row, from: 6))
            },
            asOf: try RegionSummaryProjection.position(from: first).asOf, disclosure: disclosure.applied(for: principal)
        )
    }
}
