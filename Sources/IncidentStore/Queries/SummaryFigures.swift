import Foundation
import PostgresLibpq

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

    /// The six figures as JSON fields, named as their `Codable` keys.
    public var fields: [String: JSONValue] {
        [
            CodingKeys.incidents.stringValue: .number(Double(incidents)), CodingKeys.verified.stringValue: .number(Double(verified)),
            CodingKeys.killed.stringValue: .number(Double(killed)), CodingKeys.injured.stringValue: .number(Double(injured)),
            CodingKeys.abducted.stringValue: .number(Double(abducted)), CodingKeys.displaced.stringValue: .number(Double(displaced)),
        ]
    }

    /// The six columns of a bucket table, in this order.
    static let columns = "incidents, verified, killed, injured, abducted, displaced"
    /// The six columns taken away (a bucket's share subtracted in a UNION ALL).
    static let negatedColumns = "-incidents, -verified, -killed, -injured, -abducted, -displaced"
    /// The six sums named as the columns, for a subquery over a bucket table.
    static let namedSums =
        "sum(incidents) AS incidents, sum(verified) AS verified, sum(killed) AS killed, sum(injured) AS injured, "
        + "sum(abducted) AS abducted, sum(displaced) AS displaced"
    /// The six sums, for a SELECT over a bucket table.
    static let sums = "sum(incidents), sum(verified), sum(killed), sum(injured), sum(abducted), sum(displaced)"
}
