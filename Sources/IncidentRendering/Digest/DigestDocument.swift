import Foundation

/// The weekly digest as the daemon serves it (GET /v1/digests/weekly).
///
/// Decode with a plain `JSONDecoder()`: the `CodingKeys` carry the snake_case names,
/// so do not combine it with `.convertFromSnakeCase`.
struct DigestDocument: Decodable, Sendable {
    /// The six headline figures. `Double` because four-week averages (and changes against them) may be fractional.
    struct Figures: Decodable, Sendable {
        let incidents: Double, verified: Double, killed: Double, injured: Double, abducted: Double, displaced: Double
        /// The figures in display order: incidents, verified, killed, injured, abducted, displaced.
        var ordered: [Double] { [incidents, verified, killed, injured, abducted, displaced] }
    }

    /// This week's totals compared with the previous week and with the four-week average.
    struct Changes: Decodable, Sendable {
        let vsPreviousWeek: Figures, vsFourWeekAverage: Figures
        enum CodingKeys: String, CodingKey {
            case vsPreviousWeek = "vs_previous_week", vsFourWeekAverage = "vs_four_week_average"
        }
    }

    /// Counts for one municipality and incident category.
    struct RegionRow: Decodable, Sendable {
        let district: String, districtName: String, municipality: String, municipalityName: String, category: String
        let incidents: Int, verified: Int, killed: Int, injured: Int, abducted: Int, displaced: Int
        enum CodingKeys: String, CodingKey {
            case district, municipality, category, incidents, verified, killed, injured, abducted, displaced
            case districtName = "district_name", municipalityName = "municipality_name"
        }
    }

    /// A municipality whose incident count moved most against the previous week.
    struct Mover: Decodable, Sendable {
        let municipality: String, name: String, district: String
        let incidents: Int, previousWeek: Int, change: Int
        enum CodingKeys: String, CodingKey {
            case municipality, name, district, incidents, change, previousWeek = "previous_week"
        }
    }

    /// An incident singled out for the reader (serious casualties, displacement, …).
    struct Notable: Decodable, Sendable {
        let incidentID: String, occurredDay: String, municipality: String, municipalityName: String
        let category: String, subcategory: String?, status: String, summary: String
        let killed: Int, injured: Int, abducted: Int, displaced: Int
        enum CodingKeys: String, CodingKey {
            case municipality, category, subcategory, status, summary, killed, injured, abducted, displaced
            case incidentID = "incident_id", occurredDay = "occurred_day", municipalityName = "municipality_name"
        }
    }

    /// A change to an earlier incident recorded since the previous digest.
    struct Revision: Decodable, Sendable {
        let incidentID: String, change: String, recordedAt: String, occurredDay: String
        let municipality: String, category: String
        /// Amended fields (only for `amended`).
        let fields: [String]?
        /// Why the incident was retracted (only for `retracted`).
        let reason: String?
        enum CodingKeys: String, CodingKey {
            case change, municipality, category, fields, reason
            case incidentID = "incident_id", recordedAt = "recorded_at", occurredDay = "occurred_day"
        }
    }

    /// One week of the eight-week trend (oldest first; the last one is the digest's week).
    struct TrendPoint: Decodable, Sendable {
        let week: String, from: String, incidents: Int, killed: Int, injured: Int
    }

    let week: String, from: String, to: String
    /// Log position the figures include.
    let asOf: Int
    let generatedAt: String, sensitivity: String
    let totals: Figures, previousWeek: Figures, fourWeekAverage: Figures
    let changes: Changes
    let byRegion: [RegionRow], movers: [Mover], notable: [Notable], revisions: [Revision], trend: [TrendPoint]
    /// How confidential incidents count (absent from servers before disclosure control).
    let disclosure: Disclosure?

    struct Disclosure: Decodable, Sendable {
        let threshold: Int, confidential: String
    }

    enum CodingKeys: String, CodingKey {
        case week, from, to, sensitivity, totals, changes, movers, notable, revisions, trend, disclosure
        case asOf = "as_of", generatedAt = "generated_at", previousWeek = "previous_week"
        case fourWeekAverage = "four_week_average", byRegion = "by_region"
    }
}
