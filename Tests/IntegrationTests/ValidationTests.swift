import Foundation
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

/// Taxonomy and regions as the migrations seed them, loaded once from a real database.
enum Seeds {
    static let loaded = Task {
        try await TestDatabase.with { db in
            try await db.pool.withConnection { (try Taxonomy.load($0), try RegionDirectory.load($0)) }
        }
    }

    /// 2026-11-29T12:00:00Z: a fixed "now" so date rules are reproducible.
    static let now = Date(timeIntervalSince1970: 1_795_953_600)

    static func context() async throws -> ValidationContext {
        let (taxonomy, regions) = try await loaded.value
        return ValidationContext(taxonomy: taxonomy, regions: regions, now: now)
    }
}

/// A valid report; each case below breaks one rule of docs/data-model.md, The incident record.
let validReport: [String: JSONValue] = [
    "category": "ethnic_violence",
    "subcategory": "assault",
    "occurred_at": "2026-11-20",
    "municipality": "Zubin Potok",
    "summary": "Two men assaulted a returnee near the bridge.",
    "source_type": "witness",
]

struct InvalidCase: Sendable, CustomTestStringConvertible {
    var rule: String
    var changes: [String: JSONValue?]
    var field: String
    var testDescription: String { rule }
}

@Suite("Validation of the incident record (docs/data-model.md, The incident record)")
struct ValidationTests {
    func validate(_ changes: [String: JSONValue?] = [:]) async throws -> ValidatedReport {
        var body = validReport
        for (key, value) in changes { body[key] = value }
        return try IncidentRecord.validateReport(.object(body), context: try await Seeds.context(), defaultIncidentID: UUID())
    }

    func errors(_ changes: [String: JSONValue?]) async throws -> [FieldError] {
        do {
            _ = try await validate(changes)
            return []
        } catch let failure as ValidationFailure {
            return failure.errors
        }
    }

    @Test("a minimal report gets the documented defaults")
    func defaults() async throws {
        let report = try await validate()
        let record = report.record
        #expect(record.municipality == "XK-MIT-07")
        #expect(record.datePrecision == .day)
        #expect(record.geoPrecision == 2)
        #expect(record.sensitivity == .restricted)
        #expect([record.killed, record.injured, record.abducted, record.displaced] == [Int](repeating: 0, count: 4))
        #expect(record.affectedCommunities.isEmpty && record.tags.isEmpty)
        #expect(report.eventID == nil && !report.incidentIDGiven && report.personal == nil)
    }

    @Test("a full report is kept in canonical form")
    func fullReport() async throws {
        let incidentID = UUID(), eventID = UUID()
        let report = try await validate([
            "incident_id": .string(incidentID.uuidString), "event_id": .string(eventID.uuidString.lowercased()),
            "occurred_at": "2026-11-28T14:30:00+01:00", "date_precision": "week", "place": "  Jarinje crossing ",
            "lat": 43.1, "lon": 20.7, "geo_precision": 1, "summary": "  Line one\r\nLine two  ",
            "perpetrator": "unknown group", "target": "returnee family", "affected_communities": ["serb", "roma", "serb"],
            "killed": 2, "killed_low": 1, "killed_high": 3, "injured": 4, "abducted": 1, "displaced": 12,
            "source_reliability": "b", "info_credibility": 2, "sensitivity": "public", "tags": ["bridge", "night", "bridge"],
            "personal": ["victims": [["name": "A. B.", "age": 34]]],
        ])
        let r = report.record
        #expect(r.incidentID == incidentID && report.incidentIDGiven && report.eventID == eventID)
        #expect(r.occurredAt == "2026-11-28T13:30:00Z")
        #expect(r.occurredDay == "2026-11-28")
        #expect(r.place == "Jarinje crossing")
        #expect(r.summary == "Line one\nLine two")
        #expect(r.affectedCommunities == [.serb, .roma])
        #expect(r.tags == ["bridge", "night"])
        #expect(r.sourceReliability == "B")
        #expect(r.sensitivity == .public)
        #expect(r.personal == nil, "personal data never lands in the record in plain text")
        #expect(report.personal == ["victims": [["name": "A. B.", "age": 34]]])
    }

    @Test("coordinates are kept rounded to 6 decimals, as given when they have fewer")
    func coordinatesRounded() async throws {
        let record = try await validate(["lat": 42.88390000000003, "lon": 20.866666666]).record
        #expect(record.lat == 42.8839 && record.lon == 20.866667)
        #expect(try await validate(["lat": 43.1, "lon": 20.7]).record.lat == 43.1)
    }

    static let invalidCases: [InvalidCase] = [
        .init(rule: "incident_id must be a UUID", changes: ["incident_id": "42"], field: "incident_id"),
        .init(rule: "event_id must be a UUID", changes: ["event_id": 7], field: "event_id"),
        .init(rule: "category is required", changes: ["category": nil], field: "category"),
        .init(rule: "category must exist", changes: ["category": "riots"], field: "category"),
        .init(rule: "subcategory is required", changes: ["subcategory": nil], field: "subcategory"),
        .init(rule: "subcategory must exist", changes: ["subcategory": "brawl"], field: "subcategory"),
        .init(rule: "subcategory must belong to category", changes: ["subcategory": "arms_smuggling"], field: "subcategory"),
        .init(rule: "occurred_at is required", changes: ["occurred_at": nil], field: "occurred_at"),
        .init(rule: "occurred_at must be RFC 3339 or a date", changes: ["occurred_at": "20/11/2026"], field: "occurred_at"),
        .init(rule: "occurred_at must be a real date", changes: ["occurred_at": "2026-02-30"], field: "occurred_at"),
        .init(rule: "occurred_at has a realistic year (PostgreSQL has no year 0)", changes: ["occurred_at": "0000-01-01"], field: "occurred_at"),
        .init(rule: "occurred_at's day in Kosovo is not before 1900", changes: ["occurred_at": "1900-01-01T00:30:00+05:00"], field: "occurred_at"),
        .init(rule: "occurred_at's date is digits", changes: ["occurred_at": "2026-+1-05"], field: "occurred_at"),
        .init(rule: "occurred_at not more than 10 minutes ahead", changes: ["occurred_at": "2026-11-29T12:11:00Z"], field: "occurred_at"),
        .init(rule: "occurred_at date not after today in Kosovo", changes: ["occurred_at": "2026-11-30"], field: "occurred_at"),
        .init(rule: "date_precision is day, week or month", changes: ["date_precision": "year"], field: "date_precision"),
        .init(rule: "municipality is required", changes: ["municipality": nil], field: "municipality"),
        .init(rule: "municipality must be known", changes: ["municipality": "Atlantis"], field: "municipality"),
        .init(rule: "municipality must not be ambiguous", changes: ["municipality": "mitrovica"], field: "municipality"),
        .init(rule: "place at most 200 characters", changes: ["place": .string(String(repeating: "x", count: 201))], field: "place"),
        .init(rule: "lat needs lon", changes: ["lat": 42.5], field: "lon"),
        .init(rule: "lon needs lat", changes: ["lon": 20.5], field: "lat"),
        .init(rule: "lat inside Kosovo", changes: ["lat": 44.8, "lon": 20.5], field: "lat"),
        .init(rule: "lon inside Kosovo", changes: ["lat": 42.5, "lon": 22.4], field: "lon"),
        .init(rule: "lat must be a number", changes: ["lat": "42.5", "lon": 20.5], field: "lat"),
        .init(rule: "geo_precision is 1, 2 or 3", changes: ["geo_precision": 4], field: "geo_precision"),
        .init(rule: "summary is required", changes: ["summary": nil], field: "summary"),
        .init(rule: "summary is not blank", changes: ["summary": "   \n  "], field: "summary"),
        .init(rule: "summary at most 4000 characters", changes: ["summary": .string(String(repeating: "é", count: 4001))], field: "summary"),
        .init(rule: "summary has no control characters but newline", changes: ["summary": "bad\u{7}bell"], field: "summary"),
        .init(rule: "summary has no tab either", changes: ["summary": "a\tb"], field: "summary"),
        .init(rule: "summary must be text", changes: ["summary": 12], field: "summary"),
        .init(rule: "perpetrator at most 200 characters", changes: ["perpetrator": .string(String(repeating: "p", count: 201))], field: "perpetrator"),
        .init(rule: "target at most 200 characters", changes: ["target": .string(String(repeating: "t", count: 201))], field: "target"),
        .init(rule: "target has no control characters", changes: ["target": "line\nbreak"], field: "target"),
        .init(rule: "affected_communities from the list", changes: ["affected_communities": ["serb", "martian"]], field: "affected_communities[1]"),
        .init(rule: "affected_communities is a list", changes: ["affected_communities": "serb"], field: "affected_communities"),
        .init(rule: "killed is not negative", changes: ["killed": -1], field: "killed"),
        .init(rule: "injured is a whole number", changes: ["injured": 1.5], field: "injured"),
        .init(rule: "abducted is a number, not text", changes: ["abducted": "2"], field: "abducted"),
        .init(rule: "displaced has a sane upper bound", changes: ["displaced": 1e300], field: "displaced"),
        .init(rule: "killed_low not above killed", changes: ["killed": 2, "killed_low": 3], field: "killed_low"),
        .init(rule: "killed_high not below killed", changes: ["killed": 2, "killed_high": 1], field: "killed_high"),
        .init(rule: "source_type is required", changes: ["source_type": nil], field: "source_type"),
        .init(rule: "source_type from the list", changes: ["source_type": "rumour"], field: "source_type"),
        .init(rule: "source_reliability is A to F", changes: ["source_reliability": "G"], field: "source_reliability"),
        .init(rule: "info_credibility is 1 to 6", changes: ["info_credibility": 7], field: "info_credibility"),
        .init(rule: "sensitivity from the list", changes: ["sensitivity": "secret"], field: "sensitivity"),
        .init(rule: "at most 20 tags", changes: ["tags": .array((0..<21).map { .string("t\($0)") })], field: "tags"),
        .init(rule: "a tag at most 50 characters", changes: ["tags": ["ok", .string(String(repeating: "x", count: 51))]], field: "tags[1]"),
        .init(rule: "personal is an object", changes: ["personal": "Name Surname"], field: "personal"),
        .init(rule: "unknown fields are rejected by name", changes: ["sumary": "typo"], field: "sumary"),
    ]

    @Test("each rule rejects its field", arguments: invalidCases)
    func rejects(_ invalid: InvalidCase) async throws {
        let errors = try await errors(invalid.changes)
        #expect(errors.map(\.field) == [invalid.field], "\(errors)")
        #expect(errors.allSatisfy { !$0.message.isEmpty })
    }

    @Test("every error is reported at once, not the first only")
    func allErrorsAtOnce() async throws {
        let errors = try await errors([
            "category": "riots", "occurred_at": nil, "municipality": "Atlantis", "summary": "", "killed": -3, "colour": "red",
        ])
        #expect(Set(errors.map(\.field)) == ["category", "occurred_at", "municipality", "summary", "killed", "colour"])
    }

    @Test("an ambiguous municipality names its candidates; an unknown one suggests close names")
    func regionMessages() async throws {
        let ambiguous = try await errors(["municipality": "mitrovica"])
        #expect(ambiguous.first?.message.contains("XK-MIT-01") == true)
        #expect(ambiguous.first?.message.contains("XK-MIT-02") == true)
        let typo = try await errors(["municipality": "Prizrn"])
        #expect(typo.first?.message.contains("XK-PRZ-01") == true)
    }

    @Test("up to 10 minutes ahead is accepted (clock skew); today's date is accepted")
    func nearFuture() async throws {
        #expect(try await validate(["occurred_at": "2026-11-29T12:09:00Z"]).record.occurredAt == "2026-11-29T12:09:00Z")
        #expect(try await validate(["occurred_at": "2026-11-29"]).record.occurredAt == "2026-11-29")
    }

    @Test(
        "sexual violence and human trafficking are always confidential",
        arguments: [("sexual_violence", "sexual_violence"), ("trafficking", "human_trafficking")])
    func forcedConfidential(category: String, subcategory: String) async throws {
        let record = try await validate(["category": .string(category), "subcategory": .string(subcategory), "sensitivity": "public"]).record
        #expect(record.sensitivity == .confidential)
    }

    @Test("amendments are validated as a whole and carry only what changed")
    func amendments() async throws {
        let context = try await Seeds.context()
        let record = try await validate().record
        let amended = try record.amended(with: ["municipality": "pec", "killed": 1, "place": "market"], context: context)
        #expect(amended.record.municipality == "XK-PEJ-01")
        #expect(amended.changes == ["municipality": "XK-PEJ-01", "killed": 1, "place": "market"])

        #expect(throws: ValidationFailure.self) { try record.amended(with: ["incident_id": .string(UUID().uuidString)], context: context) }
        #expect(throws: ValidationFailure.self) { try record.amended(with: ["summary": nil], context: context) }
        #expect(throws: ValidationFailure.self) { try record.amended(with: ["municipality": "XK-MIT-07"], context: context) }
        #expect(throws: ValidationFailure.self) { try record.amended(with: ["colour": "red"], context: context) }

        let confidential = try record.amended(with: ["category": "sexual_violence", "subcategory": "sexual_violence"], context: context)
        #expect(confidential.record.sensitivity == .confidential)
        #expect(confidential.changes["sensitivity"] == "confidential")
    }
}
