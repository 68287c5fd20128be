import Foundation

/// The weekly digest as the daemon serves it (GET /v1/digests/weekly).
///
/// Decode with a plain `JSONDecoder()`: the `CodingKeys` carry the snake_case names,
/// so do not combine it with `.convertFromSnakeCase`.
public struct DigestDocument: Decodable, Sendable {
    /// The six headline figures. `Double` because four-week averages (and changes against them) may be fractional.
    public struct Figures: Decodable, Sendable {
        public let incidents: Double, verified: Double, killed: Double, injured: Double, abducted: Double, displaced: Double
        /// The figures in display order: incidents, verified, killed, injured, abducted, displaced.
        public var ordered: [Double] { [incidents, verified, killed, injured, abducted, displaced] }
    }

    /// This week's totals compared with the previous week and with the four-week average.
    public struct Changes: Decodable, Sendable {
        public let vsPreviousWeek: Figures, vsFourWeekAverage: Figures
        enum CodingKeys: String, CodingKey {
            case vsPreviousWeek = "vs_previous_week", vsFourWeekAverage = "vs_four_week_average"
        }
    }

    /// Counts for one municipality and incident category.
    public struct RegionRow: Decodable, Sendable {
        public let district: String, districtName: String, municipality: String, municipalityName: String, category: String
        public let incidents: Int, verified: Int, killed: Int, injured: Int, abducted: Int, displaced: Int
        enum CodingKeys: String, CodingKey {
            case district, municipality, category, incidents, verified, killed, injured, abducted, displaced
            case districtName = "district_name", municipalityName = "municipality_name"
        }
    }

    /// A municipality whose incident count moved most against the previous week.
    public struct Mover: Decodable, Sendable {
        public let municipality: String, name: String, district: String
        public let incidents: Int, previousWeek: Int, change: Int
        enum CodingKeys: String, CodingKey {
            case municipality, name, district, incidents, change, previousWeek = "previous_week"
        }
    }

    /// An incident singled out for the reader (serious casualties, displacement, …).
    public struct Notable: Decodable, Sendable {
        public let incidentID: String, occurredDay: String, municipality: String, municipalityName: String
        public let category: String, subcategory: String?, status: String, summary: String
        public let killed: Int, injured: Int, abducted: Int, displaced: Int
        enum CodingKeys: String, CodingKey {
            case municipality, category, subcategory, status, summary, killed, injured, abducted, displaced
            case incidentID = "incident_id", occurredDay = "occurred_day", municipalityName = "municipality_name"
        }
    }

    /// A change to an earlier incident recorded since the previous digest.
    public struct Revision: Decodable, Sendable {
        public let incidentID: String, change: String, recordedAt: String, occurredDay: String
        public let municipality: String, category: String
        /// Amended fields (only for `amended`).
        public let fields: [String]?
        /// Why the incident was retracted (only for `retracted`).
        public let reason: String?
        enum CodingKeys: String, CodingKey {
            case change, municipality, category, fields, reason
            case incidentID = "incident_id", recordedAt = "recorded_at", occurredDay = "occurred_day"
        }
    }

    public let week: String, from: String, to: String
    /// Log position the figures include.
    public let asOf: Int
    public let generatedAt: String, sensitivity: String
    public let totals: Figures, previousWeek: Figures, fourWeekAverage: Figures
    public let changes: Changes
    public let byRegion: [RegionRow], movers: [Mover], notable: [Notable], revisions: [Revision], trend: [TrendPoint]
    /// How confidential incidents count (absent from servers before disclosure control).
    public let disclosure: Disclosure?

    public struct Disclosure: Decodable, Sendable {
        public let threshold: Int, confidential: String
    }

    enum CodingKeys: String, CodingKey {
        case week, from, to, sensitivity, totals, changes, movers, notable, revisions, trend, disclosure
        case asOf = "as_of", generatedAt = "generated_at", previousWeek = "previous_week"
        case fourWeekAverage = "four_week_average", byRegion = "by_region"
    }
}
