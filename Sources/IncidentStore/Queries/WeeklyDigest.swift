import Foundation
import PostgresLibpq

/// The weekly digest (docs/api.md, The weekly digest): figures of one ISO week from `region_summary`, compared with
/// the week before and the four before it, notable incidents and revisions from `incidents` and
/// the log. It never holds personal data, reporter names or a confidential incident (those count
/// only inside the figures).
public struct WeeklyDigest: Sendable, Encodable {
    public struct Average: Sendable, Encodable, Equatable {
        public var incidents, verified, killed, injured, abducted, displaced: Double
    }

    public struct RegionRow: Sendable, Encodable, Equatable {
        public var district: String
        public var districtName: String
        public var municipality: String
        public var municipalityName: String
        public var category: String
        public var figures: SummaryFigures

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(district, forKey: Key("district"))
            try c.encode(districtName, forKey: Key("district_name"))
            try c.encode(municipality, forKey: Key("municipality"))
            try c.encode(municipalityName, forKey: Key("municipality_name"))
            try c.encode(category, forKey: Key("category"))
            try figures.encode(to: encoder)
        }
    }

    /// A municipality whose incident count moved most against the previous week.
    public struct Mover: Sendable, Encodable, Equatable {
        public var municipality: String
        public var name: String
        public var district: String
        public var incidents: Int
        public var previousWeek: Int
        public var change: Int

        enum CodingKeys: String, CodingKey { case municipality, name, district, incidents, previousWeek = "previous_week", change }
    }

    public struct Notable: Sendable, Encodable, Equatable {
        public var incidentID: UUID
        public var occurredDay: String
        public var municipality: String
        public var municipalityName: String
        public var category: String
        public var subcategory: String
        public var status: String
        /// The record's summary, shortened.
        public var summary: String
        public var killed, injured, abducted, displaced: Int

        enum CodingKeys: String, CodingKey {
            case incidentID = "incident_id", occurredDay = "occurred_day", municipality, municipalityName = "municipality_name"
            case category, subcategory, status, summary, killed, injured, abducted, displaced
        }

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(incidentID.lowercasedText, forKey: .incidentID)
            try c.encode(occurredDay, forKey: .occurredDay)
            try c.encode(municipality, forKey: .municipality)
            try c.encode(municipalityName, forKey: .municipalityName)
            try c.encode(category, forKey: .category)
            try c.encode(subcategory, forKey: .subcategory)
            try c.encode(status, forKey: .status)
            try c.encode(summary, forKey: .summary)
            try c.encode(killed, forKey: .killed)
            try c.encode(injured, forKey: .injured)
            try c.encode(abducted, forKey: .abducted)
            try c.encode(displaced, forKey: .displaced)
        }
    }

    /// A decision or correction recorded during the week about an incident of an earlier week.
    public struct Revision: Sendable, Encodable, Equatable {
        public var incidentID: UUID
        /// `amended`, `verified`, `rejected` or `retracted`.
        public var change: String
        public var recordedAt: Date
        public var occurredDay: String
        public var municipality: String
        public var category: String
        /// The amended fields' names (never their values).
        public var fields: [String]?
        /// A retraction's reason (`duplicate`, `erroneous`, `out_of_scope`).
        public var reason: String?

        public func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Key.self)
            try c.encode(incidentID.lowercasedText, forKey: Key("incident_id"))
            try c.encode(change, forKey: Key("change"))
            try c.encode(IncidentTime.formatTimestamp(recordedAt), forKey: Key("recorded_at"))
            try c.encode(occurredDay, forKey: Key("occurred_day"))
            try c.encode(municipality, forKey: Key("municipality"))
            try c.encode(category, forKey: Key("category"))
            try c.encodeIfPresent(fields, forKey: Key("fields"))
            try c.encodeIfPresent(reason, forKey: Key("reason"))
        }
    }

    public struct TrendPoint: Sendable, Encodable, Equatable {
        public var week: String
        public var from: String
        public var incidents, killed, injured: Int
    }

    public var week: IsoWeek
    public var asOf: Int64
    public var generatedAt: Date
    public var totals: SummaryFigures
    public var previousWeek: SummaryFigures
    public var fourWeekAverage: Average
    public var byRegion: [RegionRow]
    public var movers: [Mover]
    public var notable: [Notable]
    public var revisions: [Revision]
    public var trend: [TrendPoint]
    /// How confidential incidents count in these figures.
    public var disclosure: Disclosure.Applied

    /// The marking of the digest's pages: what its figures may hold.
    public var sensitivity: String {
        disclosure.confidential == .exact
            ? "RESTRICTED: aggregate figures include confidential incidents; no personal data"
            : "RESTRICTED: aggregate figures, confidential incidents only in cells of at least \(disclosure.threshold); no personal data"
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: Key.self)
        try c.encode(week.description, forKey: Key("week"))
        try c.encode(week.from, forKey: Key("from"))
        try c.encode(week.to, forKey: Key("to"))
        try c.encode(asOf, forKey: Key("as_of"))
        try c.encode(IncidentTime.formatTimestamp(generatedAt), forKey: Key("generated_at"))
        try c.encode(sensitivity, forKey: Key("sensitivity"))
        try c.encode(totals, forKey: Key("totals"))
        try c.encode(previousWeek, forKey: Key("previous_week"))
        try c.encode(fourWeekAverage, forKey: Key("four_week_average"))
        var changes = c.nestedContainer(keyedBy: Key.self, forKey: Key("changes"))
        try changes.encode(totals - previousWeek, forKey: Key("vs_previous_week"))
        try changes.encode(difference(totals, fourWeekAverage), forKey: Key("vs_four_week_average"))
        try c.encode(byRegion, forKey: Key("by_region"))
        try c.encode(movers, forKey: Key("movers"))
        try c.encode(notable, forKey: Key("notable"))
        try c.encode(revisions, forKey: Key("revisions"))
        try c.encode(trend, forKey: Key("trend"))
        try c.encode(disclosure, forKey: Key("disclosure"))
    }

    private func difference(_ a: SummaryFigures, _ b: Average) -> Average {
        func round2(_ x: Double) -> Double { (x * 100).rounded() / 100 }
        return Average(
            incidents: round2(Double(a.incidents) - b.incidents), verified: round2(Double(a.verified) - b.verified),
            killed: round2(Double(a.killed) - b.killed), injured: round2(Double(a.injured) - b.injured),
            abducted: round2(Double(a.abducted) - b.abducted), displaced: round2(Double(a.displaced) - b.displaced))
    }
}

extension IncidentService {
    public static let notableLimit = 10
    public static let moversLimit = 5

    /// The digest of `week` (`YYYY-Www`, or `last`: the last complete week in Kosovo).
    /// - Throws: ``ServiceError/forbidden(_:)`` for reporters; ``ServiceError/invalid(_:)`` for a bad week.
    public func weeklyDigest(week text: String?, for principal: Principal) async throws -> WeeklyDigest {
        try Self.authorize(.readFigures, principal)
        let generatedAt = now()
        let week: IsoWeek
        switch text ?? "last" {
        case "last": week = IsoWeek.last(before: generatedAt)
        case let text:
            guard let parsed = IsoWeek(text) else {
                throw ServiceError.invalid(ValidationFailure([FieldError("week", "must be an ISO week such as 2026-W48, or last")]))
            }
            week = parsed
        }
        let regions = reference.regions
        return try await reads.withConnection { [narrative] connection in
            try connection.transaction { connection in
                // One snapshot: figures, incidents and revisions agree with each other and with as_of.
                // The lock comes first so the snapshot cannot predate a rebuild swapped in meanwhile.
                try connection.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; LOCK TABLE region_summary, incidents IN ACCESS SHARE MODE")
                return try Self.digest(of: week, regions: regions, narrative: narrative, disclosure: disclosure, for: principal, generatedAt: generatedAt, on: connection)
            }
        }
    }

    /// Each week's totals over the eight weeks that end with `week`, of one category or of all,
    /// as the principal's disclosure rule lets them count: the digest's trend, in one statement.
    /// - Throws: ``ServiceError/forbidden(_:)`` for reporters; ``ServiceError/invalid(_:)`` for an unknown category.
    public func weeklyTrend(endingWith week: IsoWeek, category: String?, for principal: Principal) async throws -> [(week: IsoWeek, figures: SummaryFigures)] {
        try Self.authorize(.readFigures, principal)
        if let category, reference.taxonomy.category(category) == nil {
            throw ServiceError.invalid(ValidationFailure([FieldError("category", "unknown category '\(category)'")]))
        }
        let (regions, disclosure) = (reference.regions, disclosure)
        let byWeek = try await reads.withConnection { [narrative] connection in
            try WeeklyDigestQuery(week: week, regions: regions, narrative: narrative, disclosure: disclosure, principal: principal, connection: connection)
                .weeklyTotals(category: category)
        }
        return (0..<8).map { week.advanced(by: $0 - 7) }.map { ($0, byWeek[$0.from] ?? SummaryFigures()) }
    }

    static func digest(
        of week: IsoWeek, regions: RegionDirectory, narrative: NarrativeVault, disclosure: Disclosure, for principal: Principal,
        generatedAt: Date, on connection: PostgresConnection
    ) throws -> WeeklyDigest {
        let query = WeeklyDigestQuery(week: week, regions: regions, narrative: narrative, disclosure: disclosure, principal: principal, connection: connection)
        let asOf = min(
            try ProjectionProgress.position(of: RegionSummaryProjection.name, on: connection).asOf,
            try ProjectionProgress.position(of: IncidentsProjection.name, on: connection).asOf
        )
        let byWeek = try query.weeklyTotals()
        let four = (1...4).map { byWeek[week.advanced(by: -$0).from] ?? SummaryFigures() }
        func average(_ value: (SummaryFigures) -> Int) -> Double { Double(four.map(value).reduce(0, +)) / 4 }
        let fourWeekAverage = WeeklyDigest.Average(
            incidents: average(\.incidents), verified: average(\.verified), killed: average(\.killed),
            injured: average(\.injured), abducted: average(\.abducted), displaced: average(\.displaced)
        )
        return WeeklyDigest(
            week: week, asOf: asOf, generatedAt: generatedAt, totals: byWeek[week.from] ?? SummaryFigures(),
            previousWeek: byWeek[week.advanced(by: -1).from] ?? SummaryFigures(), fourWeekAverage: fourWeekAverage,
            byRegion: try query.byRegion(), movers: try query.movers(limit: moversLimit), notable: try query.notable(limit: notableLimit),
            revisions: try query.revisions(),
            trend: (0..<8).map { week.advanced(by: $0 - 7) }.map { w in
                let f = byWeek[w.from] ?? SummaryFigures()
                return WeeklyDigest.TrendPoint(week: w.description, from: w.from, incidents: f.incidents, killed: f.killed, injured: f.injured)
            },
            disclosure: disclosure.applied(for: principal)
        )
    }

    /// A summary cut at a word boundary to about 160 characters.
    static func shortened(_ text: String) -> String {
        let limit = 160
        guard text.count > limit else { return text }
        let cut = text.prefix(limit)
        let end = cut.lastIndex(of: " ") ?? cut.endIndex
        return cut[..<end].trimmingCharacters(in: .whitespaces) + "…"
    }
}
