import Foundation
import PostgresLibpq

/// Time rules of the domain: Kosovo's calendar days, RFC 3339 parsing.
public enum IncidentTime {
    public static let kosovo = TimeZone(identifier: "Europe/Belgrade")!

    static let kosovoCalendar: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = kosovo
        return calendar
    }()

    /// The Kosovo day of an `occurred_at` value (a date, or a timestamp with its offset).
    public static func day(ofOccurredAt occurredAt: String) -> String {
        if occurredAt.count == 10 { return occurredAt }
        guard let date = parseTimestamp(occurredAt) else { return String(occurredAt.prefix(10)) }
        return kosovoDay(of: date)
    }

    /// Parses `YYYY-MM-DD` (digits only) into its components, checking the calendar. Years
    /// before 1900 are typos in what people send (and PostgreSQL has no year 0); `years` widens
    /// that for days already stored.
    public static func parseDay(_ text: String, years: ClosedRange<Int> = 1900...9999) -> (year: Int, month: Int, day: Int)? {
        let chars = Array(text.utf8)
        guard chars.count == 10, chars[4] == UInt8(ascii: "-"), chars[7] == UInt8(ascii: "-"),
            let y = digits(chars, 0, 4), let m = digits(chars, 5, 2), let d = digits(chars, 8, 2),
            years.contains(y), (1...12).contains(m), d >= 1, d <= daysInMonth(year: y, month: m)
        else { return nil }
        return (y, m, d)
    }

    /// Parses an RFC 3339 timestamp (`2026-11-29T21:09:12Z`, `...12.5+01:00`; `t`, `z` and a space
    /// separator are accepted as RFC 3339 allows).
    public static func parseTimestamp(_ text: String) -> Date? {
        let chars = Array(text.utf8)
        guard chars.count >= 20, let day = parseDay(String(decoding: chars[0..<10], as: UTF8.self)) else { return nil }
        guard [UInt8(ascii: "T"), UInt8(ascii: "t"), UInt8(ascii: " ")].contains(chars[10]),
            chars[13] == UInt8(ascii: ":"), chars[16] == UInt8(ascii: ":"),
            let hour = digits(chars, 11, 2), let minute = digits(chars, 14, 2), let second = digits(chars, 17, 2),
            hour < 24, minute < 60, second < 61
        else { return nil }
        var index = 19
        var fraction = 0.0
        if chars[index] == UInt8(ascii: ".") {
            index += 1
            var scale = 0.1
            let start = index
            while index < chars.count, chars[index] >= 48, chars[index] <= 57 {
                fraction += Double(chars[index] - 48) * scale
                scale /= 10
                index += 1
            }
            if index == start { return nil }
        }
        guard index < chars.count else { return nil }
        var offset = 0
        switch chars[index] {
        case UInt8(ascii: "Z"), UInt8(ascii: "z"):
            guard index + 1 == chars.count else { return nil }
        case UInt8(ascii: "+"), UInt8(ascii: "-"):
            guard index + 6 == chars.count, chars[index + 3] == UInt8(ascii: ":"),
                let oh = digits(chars, index + 1, 2), let om = digits(chars, index + 4, 2), oh < 24, om < 60
            else { return nil }
            offset = (oh * 3600 + om * 60) * (chars[index] == UInt8(ascii: "-") ? -1 : 1)
        default:
            return nil
        }
        let days = CivilTime.daysFromCivil(year: day.year, month: day.month, day: day.day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + min(second, 59) - offset
        return Date(timeIntervalSince1970: TimeInterval(seconds) + fraction)
    }

    /// `2026-11-29T21:09:12Z`
    public static func formatTimestamp(_ date: Date) -> String {
        let c = CivilTime.fields(unixSeconds: Int64(date.timeIntervalSince1970.rounded(.down)))
        return CivilTime.day(c.year, c.month, c.day) + "T" + CivilTime.padded(c.hour, 2) + ":" + CivilTime.padded(c.minute, 2)
            + ":" + CivilTime.padded(c.second, 2) + "Z"
    }

    /// The first instant of a Kosovo calendar day.
    public static func startOfKosovoDay(year: Int, month: Int, day: Int) -> Date? {
        kosovoCalendar.date(from: DateComponents(year: year, month: month, day: day))
    }

    private static func digits(_ chars: [UInt8], _ from: Int, _ count: Int) -> Int? {
        guard from + count <= chars.count else { return nil }
        var value = 0
        for c in chars[from..<from + count] {
            guard c >= 48, c <= 57 else { return nil }
            value = value * 10 + Int(c - 48)
        }
        return value
    }

    private static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }
}
