import Foundation
import PostgresLibpq

/// An ISO 8601 week (`2026-W48`): Monday to Sunday, in Kosovo's calendar.
public struct IsoWeek: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let year: Int
    public let week: Int
    /// Days since 1970-01-01 of the week's Monday.
    let monday: Int

    /// Parses `YYYY-Www` (week 53 only in years that have one).
    public init?(_ text: String) {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        guard text.utf8.count == 8, parts.count == 2, parts[0].count == 4, parts[1].count == 3, parts[1].first == "W",
            let year = Int(parts[0]), let week = Int(parts[1].dropFirst()), (1900...9998).contains(year),
            week >= 1, week <= Self.weeks(in: year)
        else { return nil }
        self.init(monday: Self.firstMonday(of: year) + 7 * (week - 1))
    }

    /// The week holding the given day (days since 1970-01-01).
    init(containingDay day: Int) {
        self.init(monday: day - (Self.weekday(day) - 1))
    }

    /// The week holding a day given as `YYYY-MM-DD`, of any year (a stored day may be older than
    /// what a report may say now); nil when it is not one.
    public init?(containing day: String) {
        guard let d = IncidentTime.parseDay(day, years: 1...9999) else { return nil }
        self.init(containingDay: CivilTime.daysFromCivil(year: d.year, month: d.month, day: d.day))
    }

    /// The week holding `date` in Kosovo.
    public init(containing date: Date) {
        let day = IncidentTime.parseDay(IncidentTime.kosovoDay(of: date))!
        self.init(containingDay: CivilTime.daysFromCivil(year: day.year, month: day.month, day: day.day))
    }

    private init(monday: Int) {
        // The ISO year is the year of the week's Thursday.
        let year = CivilTime.civil(monday + 3).year
        self.year = year
        self.week = (monday - Self.firstMonday(of: year)) / 7 + 1
        self.monday = monday
    }

    /// The last complete week before the one holding `date`.
    public static func last(before date: Date) -> IsoWeek { IsoWeek(containing: date).advanced(by: -1) }

    public func advanced(by weeks: Int) -> IsoWeek { IsoWeek(monday: monday + 7 * weeks) }

    /// Monday, `YYYY-MM-DD`.
    public var from: String { Self.format(monday) }
    /// Sunday, `YYYY-MM-DD`.
    public var to: String { Self.format(monday + 6) }
    public var description: String { String(format: "%04d-W%02d", year, week) }

    /// The first instant of Monday and of the next Monday, in Kosovo.
    public var interval: (start: Date, end: Date) {
        func start(_ day: Int) -> Date {
            let c = CivilTime.civil(day)
            return IncidentTime.startOfKosovoDay(year: c.year, month: c.month, day: c.day)!
        }
        return (start(monday), start(monday + 7))
    }

    public static func < (a: IsoWeek, b: IsoWeek) -> Bool { a.monday < b.monday }

    // MARK: - Calendar arithmetic

    /// 1 = Monday ... 7 = Sunday (1970-01-01 was a Thursday).
    static func weekday(_ day: Int) -> Int { ((day % 7 + 7 + 3) % 7) + 1 }

    /// The Monday of week 1: the week holding 4 January.
    static func firstMonday(of year: Int) -> Int {
        let january4 = CivilTime.daysFromCivil(year: year, month: 1, day: 4)
        return january4 - (weekday(january4) - 1)
    }

    static func weeks(in year: Int) -> Int { (firstMonday(of: year + 1) - firstMonday(of: year)) / 7 }

    static func format(_ day: Int) -> String {
        let c = CivilTime.civil(day)
        return CivilTime.day(c.year, c.month, c.day)
    }

}
