/// One week of a trend: its incidents and the people killed and injured in them.
///
/// Decodes from the digest's `trend` items (`{"week", "from", "incidents", "killed", "injured"}`).
public struct TrendPoint: Decodable, Sendable, Equatable {
    /// The ISO week, e.g. "2026-W48".
    public let week: String
    /// The week's first day (a Monday), ISO date.
    public let from: String
    public let incidents: Int, killed: Int, injured: Int

    public init(week: String, from: String, incidents: Int, killed: Int, injured: Int) {
        (self.week, self.from, self.incidents, self.killed, self.injured) = (week, from, incidents, killed, injured)
    }
}
