import Foundation
import IncidentStore
import PostgresLibpq

/// A reproducible random number generator (SplitMix64): a failing seed fails the same way again.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Random but reproducible incident histories written through the real service: reports,
/// amendments that move incidents between days, municipalities, categories and casualty
/// figures, verifications, rejections, changed decisions and retractions.
public struct RandomHistory: Sendable {
    public let service: IncidentService
    public var random: SeededGenerator
    /// The days incidents occur on (`YYYY-MM-DD`), none in the future.
    public let days: [String]
    public let municipalities: [String]
    public private(set) var incidents: [(id: UUID, version: Int, retracted: Bool)] = []
    /// Commands the service accepted, and refused (e.g. an amendment a rule forbids).
    public private(set) var accepted = 0
    public private(set) var refused = 0

    public static let admin = Principal(name: "history.admin", role: .admin)
    let metadata = EventMetadata(principal: "history.admin", role: "admin", client: "tests")

    /// - Parameters:
    ///   - days: how many days back from `end` (a Kosovo day, default today) incidents may occur.
    ///   - municipalities: how many municipalities to spread over (few make buckets collide).
    public init(service: IncidentService, seed: UInt64, days: Int = 70, end: Date = Date(), municipalities: Int = 6) {
        self.service = service
        var random = SeededGenerator(seed: seed)
        let today = IncidentTime.parseDay(IncidentTime.kosovoDay(of: end))!
        let start = IncidentTime.startOfKosovoDay(year: today.year, month: today.month, day: today.day)!.addingTimeInterval(12 * 3600)
        self.days = (0..<days).map { IncidentTime.kosovoDay(of: start.addingTimeInterval(-86_400 * Double($0))) }
        self.municipalities = Array(service.reference.regions.municipalities.map(\.code).shuffled(using: &random).prefix(municipalities))
        self.random = random
    }

    /// Runs `count` random commands.
    public mutating func run(_ count: Int) async throws {
        for _ in 0..<count { try await step() }
    }

    /// One random command; refusals by the service's rules are counted, not thrown.
    public mutating func step() async throws {
        let live = incidents.indices.filter { !incidents[$0].retracted }
        let roll = Int.random(in: 0..<100, using: &random)
        do {
            if live.isEmpty || roll < 35 {
                try await report()
            } else {
                let index = live.randomElement(using: &random)!
                let (id, version, _) = incidents[index]
                let outcome: WriteOutcome
                switch roll {
                case 35..<65:
                    outcome = try await service.amend(
                        id, expectedVersion: version, changes: .object(amendment()), reason: "correction",
                        idempotencyKey: nil, by: Self.admin, metadata: metadata)
                case 65..<80:
                    outcome = try await service.decide(
                        id, expectedVersion: version, decision: .verified, note: "confirmed",
                        idempotencyKey: nil, by: Self.admin, metadata: metadata)
                case 80..<92:
                    outcome = try await service.decide(
                        id, expectedVersion: version, decision: .rejected, note: "not confirmed",
                        idempotencyKey: nil, by: Self.admin, metadata: metadata)
                case 92..<96:
                    outcome = try await service.retract(
                        id, expectedVersion: version, reason: "erroneous", duplicateOf: nil,
                        idempotencyKey: nil, by: Self.admin, metadata: metadata)
                    incidents[index].retracted = true
                default:
                    // Redacted, with a new summary or none: the log's text is unreadable from here.
                    let replacement: JSONValue = roll % 2 == 0 ? ["summary": "A redacted incident."] : [:]
                    outcome = try await service.redactNarrative(
                        id, reason: "names a witness", replacement: replacement, by: Self.admin, metadata: metadata, audit: .local)
                }
                incidents[index].version = outcome.streamVersion
            }
            accepted += 1
        } catch is ServiceError {
            refused += 1
        }
    }

    private mutating func report() async throws {
        let (category, subcategory) = categoryPair()
        let body: JSONValue = .object([
            "category": .string(category), "subcategory": .string(subcategory), "occurred_at": .string(occurredAt()),
            "municipality": .string(municipalities.randomElement(using: &random)!),
            "summary": .string("Incident \(incidents.count + 1) of a random history."),
            "source_type": "witness",
            "killed": .number(Double(casualties())), "injured": .number(Double(casualties())),
            "abducted": .number(Double(casualties())), "displaced": .number(Double(casualties() * 3)),
        ])
        var fields = body.objectValue!
        if incidents.count % 2 == 0 { fields["place"] = .string("Near the school of village \(incidents.count)") }
        let outcome = try await service.report(.object(fields), idempotencyKey: nil, by: Self.admin, metadata: metadata)
        incidents.append((outcome.incidentID, outcome.streamVersion, false))
    }

    private mutating func amendment() -> [String: JSONValue] {
        var changes: [String: JSONValue] = [:]
        for _ in 0..<Int.random(in: 1...3, using: &random) {
            switch Int.random(in: 0..<6, using: &random) {
            case 0: changes["municipality"] = .string(municipalities.randomElement(using: &random)!)
            case 1:
                let (category, subcategory) = categoryPair()
                changes["category"] = .string(category)
                changes["subcategory"] = .string(subcategory)
            case 2: changes["occurred_at"] = .string(occurredAt())
            case 3: changes[["killed", "injured", "abducted"].randomElement(using: &random)!] = .number(Double(casualties()))
            case 4: changes[["summary", "place", "perpetrator"].randomElement(using: &random)!] = .string("Amended text \(Int.random(in: 0..<1000, using: &random)).")
            default: changes["displaced"] = .number(Double(casualties() * 3))
            }
        }
        return changes
    }

    /// A day, or an instant late in the evening UTC whose Kosovo day is the next one.
    private mutating func occurredAt() -> String {
        let day = days.dropFirst().randomElement(using: &random)!
        return Bool.random(using: &random) ? day : day + "T23:30:00Z"
    }

    private mutating func casualties() -> Int {
        Int.random(in: 0..<10, using: &random) < 7 ? 0 : Int.random(in: 1...4, using: &random)
    }

    private mutating func categoryPair() -> (String, String) {
        let category = service.reference.taxonomy.categories.randomElement(using: &random)!
        return (category.code, category.subcategories.randomElement(using: &random)!.code)
    }
}

/// A bucket of `region_summary`: a Kosovo day, a region (municipality or district) and a category.
public struct DayBucket: Hashable, Sendable, CustomStringConvertible {
    public var day: String
    public var region: String
    public var category: String

    public init(day: String, region: String, category: String) {
        (self.day, self.region, self.category) = (day, region, category)
    }

    public var description: String { "\(day) \(region) \(category)" }
}

/// Committed events not yet applied, summed over both read models (the projections' own `lag`).
public func readModelLag(_ pool: ConnectionPool) async throws -> Int {
    try await pool.withConnection { connection in
        try [IncidentsProjection.name, RegionSummaryProjection.name].map { try ProjectionProgress.lag(of: $0, on: connection) }.reduce(0, +)
    }
}

/// The rows of a region_summary table (live or shadow), rolled up to `level`.
/// District figures come from the district table (`region_summary_district`, or its shadow), the
/// one the service reads.
public func projectedBuckets(_ pool: ConnectionPool, table: String = "region_summary", level: SummaryLevel) async throws -> [DayBucket: SummaryFigures] {
    let column = level == .municipality ? "municipality" : "district"
    let table = level == .municipality ? table : table.replacingOccurrences(of: "region_summary", with: "region_summary_district")
    return try await pool.withConnection { connection in
        var buckets: [DayBucket: SummaryFigures] = [:]
        for row in try connection.query(
            "SELECT day::text AS day, " + column + """
                , category, sum(incidents), sum(verified), sum(killed), sum(injured), sum(abducted), sum(displaced)
                FROM
                """ + " " + table + " GROUP BY 1, 2, 3 HAVING sum(incidents) > 0"
        ).rows {
            buckets[DayBucket(day: try row.decode(0), region: try row.decode(1), category: try row.decode(2))] = SummaryFigures(
                incidents: try row.decode(3), verified: try row.decode(4), killed: try row.decode(5),
                injured: try row.decode(6), abducted: try row.decode(7), displaced: try row.decode(8)
            )
        }
        return buckets
    }
}
