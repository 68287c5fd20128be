import Foundation
import PostgresLibpq
import Testing

@testable import IncidentStore

@Suite("Checkpoint tokens")
struct CheckpointTests {
    @Test("a token round-trips and orders by transaction, then position")
    func roundTrip() {
        let checkpoint = Checkpoint(transactionID: 7_123, position: 42)
        #expect(Checkpoint(token: checkpoint.token) == checkpoint)
        #expect(Checkpoint(token: "") == .start)
        #expect(Checkpoint(transactionID: 1, position: 99) < Checkpoint(transactionID: 2, position: 1))
    }

    @Test("foreign tokens are refused", arguments: ["42", "v2.1.2", "v1.x.2", "v1.1.-2", "v1.1", "v1.1.2.3"])
    func refused(_ token: String) {
        #expect(Checkpoint(token: token) == nil)
    }
}

@Suite("JSON values")
struct JSONValueTests {
    @Test("booleans and numbers stay distinct")
    func types() throws {
        let value = try JSONValue.parse(Data(#"{"a": true, "b": 1, "c": 0, "d": "x", "e": null, "f": [1.5]}"#.utf8))
        #expect(value == ["a": true, "b": 1, "c": 0, "d": "x", "e": nil, "f": [1.5]])
    }

    @Test("malformed JSON and invalid UTF-8 are errors", arguments: [
        Data("{".utf8), Data([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D]), Data("[1 2]".utf8), Data("[1,]".utf8), Data(#"{"a":1,}"#.utf8),
        Data("01".utf8), Data("1.".utf8), Data("-".utf8), Data("1e".utf8), Data("1e999".utf8), Data(#""\ud800""#.utf8),
        Data(#""\udc00x""#.utf8), Data("\"a\u{01}b\"".utf8), Data(#""\x""#.utf8), Data("true false".utf8), Data("nul".utf8),
        Data("".utf8), Data("   ".utf8), Data(#"{"a" 1}"#.utf8), Data("NaN".utf8), Data(String(repeating: "[", count: 600).utf8),
    ] as [Data])
    func malformed(_ data: Data) {
        #expect(throws: (any Error).self) { try JSONValue.parse(data) }
    }

    @Test("strings: escapes, surrogate pairs and UTF-8 round-trip through text")
    func strings() throws {
        let value = try JSONValue.parse(Data(#" {"k\"ey": "a\\b\/c\n\t\u00e9\ud83d\ude00 ë 🙂", "n": -12.5e1, "z": -0, "d": [[[]]]} "#.utf8))
        #expect(value == ["k\"ey": "a\\b/c\n\té😀 ë 🙂", "n": -125, "z": 0, "d": [[[]]]])
        #expect(try JSONValue.parse(value.encoded()) == value)
        #expect(JSONValue.string("\u{01}\"").encodedString == #""\u0001\"""#)
        #expect(JSONValue.string("plain ë \\ mid\n\u{1F}end").encodedString == #""plain ë \\ mid\n\u001fend""#)
        #expect(JSONValue.string("").encodedString == #""""#)
        #expect(try JSONValue.parse(Data(String(repeating: "[", count: 500).appending(String(repeating: "]", count: 500)).utf8)) != .null)
    }

    @Test("encoding is stable: sorted keys, whole numbers without a fraction")
    func stable() {
        let value: JSONValue = ["b": 1, "a": [true, 2.5]]
        #expect(value.encodedString == #"{"a":[true,2.5],"b":1}"#)
    }
}

@Suite("Time rules")
struct TimeTests {
    @Test("RFC 3339 timestamps parse with offsets and fractions")
    func timestamps() throws {
        let date = try #require(IncidentTime.parseTimestamp("2026-11-28T14:30:00.250+01:00"))
        #expect(IncidentTime.formatTimestamp(date) == "2026-11-28T13:30:00Z")
        #expect(IncidentTime.parseTimestamp("2026-11-28 13:30:00z") != nil)
        for bad in ["2026-11-28T25:00:00Z", "2026-11-28T13:30:00", "2026-13-01T00:00:00Z", "2026-11-28T13:30:00+1:00", "2026-11-28T13:30:00.Z"] {
            #expect(IncidentTime.parseTimestamp(bad) == nil, "\(bad)")
        }
    }

    @Test("UTC calendar fields by arithmetic equal Foundation's, from 1900 to 2200, leap days included")
    func civilTime() throws {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        var generator = SystemRandomNumberGenerator()
        let fixed: [Int64] = [-2_208_988_800, -1, 0, 951_782_400, 951_868_799, 1_709_164_800, 4_107_542_399]  // 1900, 1969, 1970, 2000-02-29, 2024-02-29, 2100
        for seconds in fixed + (0..<2000).map({ _ in Int64.random(in: -2_208_988_800...7_258_118_400, using: &generator) }) {
            let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: Date(timeIntervalSince1970: TimeInterval(seconds)))
            let f = CivilTime.fields(unixSeconds: seconds)
            let ours: [Int] = [f.year, f.month, f.day, f.hour, f.minute, f.second]
            let foundation: [Int] = [c.year!, c.month!, c.day!, c.hour!, c.minute!, c.second!]
            #expect(ours == foundation, "\(seconds)")
        }
        let date = Date(timeIntervalSince1970: 1_764_444_552.123456)
        #expect(date.postgresText == "2025-11-29 19:29:12.123456+00")
    }

    @Test("the day is Kosovo's calendar day")
    func kosovoDay() throws {
        // 23:30 UTC in winter is 00:30 the next day in Kosovo (UTC+1); in summer 01:30 (UTC+2).
        #expect(IncidentTime.kosovoDay(of: try #require(IncidentTime.parseTimestamp("2026-01-10T23:30:00Z"))) == "2026-01-11")
        #expect(IncidentTime.kosovoDay(of: try #require(IncidentTime.parseTimestamp("2026-07-10T21:59:00Z"))) == "2026-07-10")
        #expect(IncidentTime.kosovoDay(of: try #require(IncidentTime.parseTimestamp("2026-07-10T22:00:00Z"))) == "2026-07-11")
    }

    @Test("occurred_at decides the day across the clock changes (fixed cases, independent of the projections)",
          arguments: [
              ("2026-03-28T22:59:00Z", "2026-03-28"), ("2026-03-28T23:30:00Z", "2026-03-29"), // CET: UTC+1 until 01:00 UTC on the 29th
              ("2026-03-29T21:59:00Z", "2026-03-29"), ("2026-03-29T22:00:00Z", "2026-03-30"), // CEST: UTC+2 from then on
              ("2026-10-24T21:30:00Z", "2026-10-24"), ("2026-10-24T22:30:00Z", "2026-10-25"), // CEST until 01:00 UTC on the 25th
              ("2026-10-25T22:30:00Z", "2026-10-25"), ("2026-10-25T23:00:00Z", "2026-10-26"), // CET again
              ("2026-11-29T23:30:00+01:00", "2026-11-29"), ("2026-11-29", "2026-11-29"),
          ])
    func occurredDay(occurredAt: String, day: String) {
        #expect(IncidentTime.day(ofOccurredAt: occurredAt) == day)
    }

    @Test("ISO weeks: week 53, year boundaries, last week", arguments: [
        ("2026-W01", "2025-12-29", "2026-01-04"), ("2026-W53", "2026-12-28", "2027-01-03"),
        ("2020-W53", "2020-12-28", "2021-01-03"), ("2027-W01", "2027-01-04", "2027-01-10"), ("2026-W48", "2026-11-23", "2026-11-29"),
    ])
    func isoWeeks(week: String, from: String, to: String) throws {
        let parsed = try #require(IsoWeek(week))
        #expect(parsed.from == from && parsed.to == to && parsed.description == week)
        #expect(parsed.advanced(by: 1).advanced(by: -1) == parsed)
    }

    @Test("a summary's whole weeks: the first Monday on or after since, the last Sunday on or before until", arguments: [
        // (since or until, first Monday on or after it, last Sunday on or before it)
        ("2026-11-23", "2026-11-23", "2026-11-22"), ("2026-11-29", "2026-11-30", "2026-11-29"), ("2026-11-25", "2026-11-30", "2026-11-22"),
        ("2020-12-31", "2021-01-04", "2020-12-27"), ("2021-01-03", "2021-01-04", "2021-01-03"), ("2024-02-29", "2024-03-04", "2024-02-25"),
    ])
    func wholeWeeks(day: String, monday: String, sunday: String) {
        #expect(IncidentService.firstMonday(day) == monday)
        #expect(IncidentService.lastSunday(day) == sunday)
    }

    @Test("a stored day of any year has its ISO week; parsed days are digits")
    func weeksOfAnyDay() {
        // A day before 1900 may be in a log written before reports were checked for it.
        #expect(IsoWeek(containing: "1899-12-31")?.from == "1899-12-25")
        #expect(IsoWeek(containing: "2027-01-01")?.from == "2026-12-28")
        for bad in ["2026-+1-05", "2026-1-055", "2026/11/05", " 2026-11-5", "2026-13-01"] {
            #expect(IsoWeek(containing: bad) == nil, "\(bad)")
            #expect(IncidentTime.parseDay(bad) == nil, "\(bad)")
        }
        #expect(IncidentTime.parseDay("1899-12-31") == nil)
    }

    @Test("ISO week parsing refuses what does not exist")
    func badWeeks() {
        for bad in ["2025-W53", "2026-W00", "2026-W54", "2026-48", "26-W48", "2026-W4", "last"] { #expect(IsoWeek(bad) == nil, "\(bad)") }
        // Monday 00:30 in Kosovo is still Sunday 23:30 UTC: the last complete week is the one that just ended.
        let monday = IncidentTime.parseTimestamp("2026-11-29T23:30:00Z")!
        #expect(IsoWeek.last(before: monday).description == "2026-W48")
        #expect(IsoWeek(containing: monday).description == "2026-W49")
    }

    @Test("PostgreSQL's timestamp output parses")
    func postgresTimestamps() throws {
        let date = try #require(PostgresTimestamp.parse("2026-11-29 22:09:12.5+00"))
        #expect(date.timeIntervalSince1970 == 1_795_990_152.5)
        #expect(try Date(postgresText: date.postgresText) == date)
    }
}

@Suite("Region names")
struct RegionNameTests {
    @Test("folding drops case, diacritics and punctuation", arguments: [("Pejë", "peje"), ("Đakovica", "dakovica"), ("Fushë-Kosovë", "fushe kosove"), ("  Zubin   Potok ", "zubin potok"), ("Graçanicë", "gracanice")])
    func fold(_ input: String, _ expected: String) {
        #expect(RegionName.fold(input) == expected)
    }

    @Test("edit distance")
    func distance() {
        #expect(RegionName.editDistance("prishtna", "prishtine") == 2)
        #expect(RegionName.editDistance("", "abc") == 3)
    }
}

@Suite("Folding an incident stream")
struct IncidentStateTests {
    let record = IncidentRecord(
        incidentID: UUID(), category: "ethnic_violence", subcategory: "assault", occurredAt: "2026-11-20",
        datePrecision: .day, municipality: "XK-MIT-07", place: nil, lat: nil, lon: nil, geoPrecision: 2,
        summary: "assault", perpetrator: nil, target: nil, affectedCommunities: [], killed: 0, killedLow: nil,
        killedHigh: nil, injured: 1, abducted: 0, displaced: 0, sourceType: .witness, sourceReliability: nil,
        infoCredibility: nil, sensitivity: .restricted, tags: [], personal: SealedPersonalData(ciphertext: "AAAA")
    )

    func recorded(_ event: IncidentEvent, version: Int, principal: String = "officer") throws -> RecordedEvent {
        RecordedEvent(
            globalPosition: Int64(version), transactionID: UInt64(version), eventID: UUID(),
            stream: IncidentEvent.streamName(for: record.incidentID), streamVersion: version,
            type: event.eventType.rawValue, schemaVersion: 1, data: try event.data(),
            metadata: EventMetadata(principal: principal), recordedAt: Date(timeIntervalSince1970: Double(version))
        )
    }

    @Test("report, amend, verify, reject, retract, erase")
    func lifecycle() throws {
        var events = [
            try recorded(.reported(record), version: 1),
            try recorded(.amended(IncidentAmended(changes: ["municipality": "XK-PEJ-01", "killed": 2, "place": "market"], reason: "wrong place")), version: 2, principal: "reviewer"),
        ]
        var state = try #require(try IncidentState.fold(events))
        #expect(state.record.municipality == "XK-PEJ-01")
        #expect(state.record.killed == 2)
        #expect(state.record.place == "market")
        #expect(state.status == .reported && state.version == 2 && state.reportedBy == "officer")

        events.append(try recorded(.verified(ReviewDecision(note: "confirmed by police")), version: 3))
        state = try #require(try IncidentState.fold(events))
        #expect(state.status == .verified)
        events.append(try recorded(.rejected(ReviewDecision(note: "second source contradicts")), version: 4))
        #expect(try IncidentState.fold(events)?.status == .rejected)
        events.append(try recorded(.amended(IncidentAmended(changes: ["place": nil], reason: "unclear")), version: 5))
        #expect(try IncidentState.fold(events)?.record.place == nil)
        events.append(try recorded(.retracted(IncidentRetracted(reason: .duplicate, duplicateOf: UUID())), version: 6))
        #expect(try IncidentState.fold(events)?.status == .retracted)
        #expect(try IncidentState.fold(events)?.status.counts == false)
        events.append(try recorded(.personalDataErased(PersonalDataErased(reason: "request of the victim")), version: 7))
        state = try #require(try IncidentState.fold(events))
        #expect(state.personalDataErased && state.record.personal == nil && state.version == 7)
    }

    @Test("a record's stored form is what its Codable encoding writes, with every optional field set or not")
    func storedForm() throws {
        var full = record
        full.place = "Market square"; full.lat = 42.89; full.lon = 20.87; full.perpetrator = "unknown"; full.target = "shop"
        full.killedLow = 0; full.killedHigh = 2; full.sourceReliability = "B"; full.infoCredibility = 2
        full.affectedCommunities = [.serb, .albanian]; full.tags = ["market", "night"]
        var bare = record
        bare.personal = nil
        for candidate in [record, full, bare] {
            #expect(candidate.json == (try JSONValue(encoding: candidate)))
            #expect(try candidate.json.decode(IncidentRecord.self) == candidate)
        }
    }

    @Test("text is trimmed as Foundation trims white space and newlines",
          arguments: ["plain", "  both ends  ", "\t\ntabs\n", "\u{00A0}no-break\u{3000}", "inner  space kept", "   ", "", "\u{2028}x\u{2029}", "Pejë "])
    func trimming(text: String) {
        #expect(FieldReader.trimmed(text) == text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test("a stream must start with IncidentReported")
    func mustStartWithReport() throws {
        let events = [try recorded(.verified(ReviewDecision(note: "x")), version: 1)]
        #expect(throws: EventDecodingError.self) { try IncidentState.fold(events) }
    }

    @Test("every event type round-trips through its stored form")
    func roundTrip() throws {
        let events: [IncidentEvent] = [
            .reported(record), .amended(IncidentAmended(changes: ["killed": 1], reason: "r")),
            .verified(ReviewDecision(note: "n")), .rejected(ReviewDecision(note: "n")),
            .retracted(IncidentRetracted(reason: .outOfScope)), .personalDataErased(PersonalDataErased(reason: "r")),
        ]
        for event in events {
            let decoded = try IncidentEvent(type: event.eventType.rawValue, schemaVersion: 1, data: try event.data())
            #expect(decoded == event)
        }
        #expect(throws: EventDecodingError.self) { try IncidentEvent(type: "IncidentReported", schemaVersion: 9, data: [:]) }
    }
}

@Suite("Embedded migrations")
struct EmbeddedMigrationTests {
    @Test("the binary's migrations are exactly Migrations/*.sql (run scripts/embed-migrations after an edit)")
    func matchesFiles() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let directory = root.appendingPathComponent("Migrations")
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".sql") }.sorted()
        #expect(Migration.all.map(\.name) == files)
        for migration in Migration.all {
            let text = try String(contentsOf: directory.appendingPathComponent(migration.name), encoding: .utf8)
            #expect(migration.sql == text, "\(migration.name) differs from its embedded copy")
        }
        #expect(Migration.all.map(\.version) == Array(1...Migration.all.count), "numbered without gaps")
    }
}

@Suite("Token cache")
struct TokenCacheTests {
    @Test("a remembered token stops working when it expires")
    func rememberedExpiry() {
        let cache = TokenCache()
        cache.forgetAll(listening: true)
        let expiresAt = Date(timeIntervalSince1970: 2_000_000_000)
        cache.remember(.init(principal: Principal(name: "short-lived", role: .analyst), expiresAt: expiresAt), hash: "h", since: cache.generation)
        #expect(cache.principal(hash: "h", now: expiresAt.addingTimeInterval(-1))?.name == "short-lived")
        #expect(cache.principal(hash: "h", now: expiresAt) == nil)
        // Nothing read before a change is remembered after it.
        let before = cache.generation
        cache.forgetAll()
        cache.remember(.init(principal: Principal(name: "stale", role: .admin), expiresAt: nil), hash: "s", since: before)
        #expect(cache.principal(hash: "s", now: Date()) == nil)
        cache.forgetAll(listening: false)
        cache.remember(.init(principal: Principal(name: "unheard", role: .admin), expiresAt: nil), hash: "u", since: cache.generation)
        #expect(cache.count == 0, "nothing is remembered while nobody listens")
    }

    @Test("a token is remembered for a bounded time, whatever the listener hears")
    func rememberedAge() async throws {
        let cache = TokenCache(maximumAge: .milliseconds(20))
        cache.forgetAll(listening: true)
        cache.remember(.init(principal: Principal(name: "field-1", role: .reporter), expiresAt: nil), hash: "f", since: cache.generation)
        #expect(cache.principal(hash: "f", now: Date())?.name == "field-1")
        try await Task.sleep(for: .milliseconds(40))
        #expect(cache.principal(hash: "f", now: Date()) == nil)
    }
}
