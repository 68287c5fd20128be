import Foundation
import PostgresLibpq
import Synchronization

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
