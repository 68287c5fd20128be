import Foundation
import PostgresLibpq
import Testing

@testable import IncidentStore

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

    @Test(
        "occurred_at decides the day across the clock changes (fixed cases, independent of the projections)",
        arguments: [
            ("2026-03-28T22:59:00Z", "2026-03-28"), ("2026-03-28T23:30:00Z", "2026-03-29"),  // CET: UTC+1 until 01:00 UTC on the 29th
            ("2026-03-29T21:59:00Z", "2026-03-29"), ("2026-03-29T22:00:00Z", "2026-03-30"),  // CEST: UTC+2 from then on
            ("2026-10-24T21:30:00Z", "2026-10-24"), ("2026-10-24T22:30:00Z", "2026-10-25"),  // CEST until 01:00 UTC on the 25th
            ("2026-10-25T22:30:00Z", "2026-10-25"), ("2026-10-25T23:00:00Z", "2026-10-26"),  // CET again
            ("2026-11-29T23:30:00+01:00", "2026-11-29"), ("2026-11-29", "2026-11-29"),
        ])
    func occurredDay(occurredAt: String, day: String) {
        #expect(IncidentTime.day(ofOccurredAt: occurredAt) == day)
    }

    @Test(
        "ISO weeks: week 53, year boundaries, last week",
        arguments: [
            ("2026-W01", "2025-12-29", "2026-01-04"), ("2026-W53", "2026-12-28", "2027-01-03"),
            ("2020-W53", "2020-12-28", "2021-01-03"), ("2027-W01", "2027-01-04", "2027-01-10"), ("2026-W48", "2026-11-23", "2026-11-29"),
        ])
    func isoWeeks(week: String, from: String, to: String) throws {
        let parsed = try #require(IsoWeek(week))
        #expect(parsed.from == from && parsed.to == to && parsed.description == week)
        #expect(parsed.advanced(by: 1).advanced(by: -1) == parsed)
    }

    @Test(
        "a summary's whole weeks: the first Monday on or after since, the last Sunday on or before until",
        arguments: [
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
