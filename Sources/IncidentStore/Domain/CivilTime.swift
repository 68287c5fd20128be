import Foundation
import Synchronization

/// UTC calendar fields of an instant and zero-padded formatting, by integer arithmetic: the
/// timestamps of every stored event pass through here, and Foundation's calendars and
/// `String(format:)` cost more than everything else on that path.
enum CivilTime {
    /// Year, month, day, hour, minute, second (UTC) of whole seconds since 1970.
    static func fields(unixSeconds: Int64) -> (year: Int, month: Int, day: Int, hour: Int, minute: Int, second: Int) {
        let days = Int(unixSeconds >= 0 ? unixSeconds / 86_400 : (unixSeconds - 86_399) / 86_400)
        let secondOfDay = Int(unixSeconds - Int64(days) * 86_400)
        let date = IsoWeek.civil(days)
        return (date.year, date.month, date.day, secondOfDay / 3600, secondOfDay / 60 % 60, secondOfDay % 60)
    }

    /// `value` in decimal, left-padded with zeros to `width` digits.
    static func padded(_ value: Int, _ width: Int) -> String {
        let digits = String(value)
        return digits.count >= width ? digits : String(repeating: "0", count: width - digits.count) + digits
    }

    static func day(_ year: Int, _ month: Int, _ day: Int) -> String {
        padded(year, 4) + "-" + padded(month, 2) + "-" + padded(day, 2)
    }
}

extension IncidentTime {
    /// The last Kosovo day looked up, by UTC minute: Kosovo's offsets are whole hours, so every
    /// instant of one UTC minute falls on the same Kosovo day.
    private static let lastDay = Mutex<(minute: Int64, day: String)?>(nil)

    /// The calendar day in Kosovo of an instant, `YYYY-MM-DD`.
    public static func kosovoDay(of date: Date) -> String {
        let minute = Int64((date.timeIntervalSince1970 / 60).rounded(.down))
        if let cached = lastDay.withLock({ $0 }), cached.minute == minute { return cached.day }
        let c = kosovoCalendar.dateComponents([.year, .month, .day], from: date)
        let day = CivilTime.day(c.year!, c.month!, c.day!)
        lastDay.withLock { $0 = (minute, day) }
        return day
    }
}
