import Foundation

/// Counted figures: incidents that count (reported or verified) and their casualties.
public struct SummaryFigures: Sendable, Codable, Equatable {
    public var incidents = 0, verified = 0, killed = 0, injured = 0, abducted = 0, displaced = 0

    public init(incidents: Int = 0, verified: Int = 0, killed: Int = 0, injured: Int = 0, abducted: Int = 0, displaced: Int = 0) {
        (self.incidents, self.verified, self.killed, self.injured, self.abducted, self.displaced) = (incidents, verified, killed, injured, abducted, displaced)
    }

    /// Reads six consecutive columns from `first` on.
    init(row: Row, from first: Int) throws {
        self.init(
            incidents: try row.decodeIfPresent(first) ?? 0, verified: try row.decodeIfPresent(first + 1) ?? 0,
            killed: try row.decodeIfPresent(first + 2) ?? 0, injured: try row.decodeIfPresent(first + 3) ?? 0,
            abducted: try row.decodeIfPresent(first + 4) ?? 0, displaced: try row.decodeIfPresent(first + 5) ?? 0
        )
    }

    public static func += (a: inout SummaryFigures, b: SummaryFigures) {
        a.incidents += b.incidents; a.verified += b.verified; a.killed += b.killed
        a.injured += b.injured; a.abducted += b.abducted; a.displaced += b.displaced
    }

    public static prefix func - (a: SummaryFigures) -> SummaryFigures {
        SummaryFigures(incidents: -a.incidents, verified: -a.verified, killed: -a.killed, injured: -a.injured, abducted: -a.abducted, displaced: -a.displaced)
    }

    public static func - (a: SummaryFigures, b: SummaryFigures) -> SummaryFigures {
        var difference = a
        difference += -b
        return difference
    }

    public var isZero: Bool { self == SummaryFigures() }

    /// The six sums, for a SELECT over `region_summary`.
    static let sums = "sum(incidents), sum(verified), sum(killed), sum(injured), sum(abducted), sum(displaced)"
}

public enum SummaryLevel: String, Sendable, Codable, CaseIterable {
    case district, municipality
}

/// `GET /v1/summaries`: figures per region and category over a period, from `region_summary`.
public struct RegionSummary: Sendable, Encodable {
    public struct Row: Sendable, Encodable, Equatable {
        public var code: String
        public var name: String
        public var category: String
        public var figures: SummaryFigures

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(code, forKey: Key("code"))
            try c.encode(name, forKey: Key("name"))
            try c.encode(category, forKey: Key("category"))
            try figures.encode(to: encoder)
        }
    }

    public var level: SummaryLevel
    public var since: String?
    public var until: String?
    public var category: String?
    public var rows: [Row]
    /// Every committed event up to this global position is in the figures.
    public var asOf: Int64

    enum CodingKeys: String, CodingKey { case level, since, until, category, rows, asOf = "as_of" }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(level, forKey: .level)
        try c.encode(since, forKey: .since)
        try c.encode(until, forKey: .until)
        try c.encode(category, forKey: .category)
        try c.encode(rows, forKey: .rows)
        try c.encode(asOf, forKey: .asOf)
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
    /// inclusive; open ends when nil). Confidential incidents count here, as aggregates.
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
        // District figures have a table of their own: a seventh of the rows to add up.
        let (column, table) = level == .district ? ("district", "region_summary_district") : ("municipality", "region_summary")
        let (rows, asOf) = try await pool.withConnection { connection in
            // One snapshot for the figures and the position they include, taken after the lock, so
            // a rebuild swapped in meanwhile is seen whole (tables and checkpoint) or not at all.
            try connection.transaction(begin: "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY; LOCK TABLE " + table + " IN ACCESS SHARE MODE") { connection in
                let asOf = try RegionSummaryProjection(regions: regions).position(on: connection).asOf
                let rows = try connection.query(
                    "SELECT " + column + ", category, " + SummaryFigures.sums + " FROM " + table + """

                    WHERE ($1::date IS NULL OR day >= $1::date) AND ($2::date IS NULL OR day <= $2::date)
                      AND ($3::text IS NULL OR category = $3)
                    GROUP BY 1, 2 HAVING sum(incidents) > 0 ORDER BY 1, 2
                    """, [since, until, category]
                ).rows
                return (rows, asOf)
            }
        }
        return RegionSummary(
            level: level, since: since, until: until, category: category,
            rows: try rows.map { row in
                let code: String = try row.decode(0)
                let name = level == .district ? regions.district(code: code)?.displayName : regions.municipality(code: code)?.displayName
                return RegionSummary.Row(code: code, name: name ?? code, category: try row.decode(1), figures: try SummaryFigures(row: row, from: 2))
            },
            asOf: asOf
        )
    }
}
