import Foundation

/// A Swift value that travels to PostgreSQL as a bound text-format parameter.
public protocol PostgresEncodable: Sendable {
    var postgresText: String { get }
}

/// A Swift value decoded from a column's text-format value.
public protocol PostgresDecodable {
    init(postgresText: String) throws
}

public struct PostgresDecodingError: Error, CustomStringConvertible {
    public var type: String
    public var text: String
    public var description: String { "cannot decode \(type) from database value \(text.prefix(40).debugDescription)" }
}

extension String: PostgresEncodable, PostgresDecodable {
    public var postgresText: String { self }
    public init(postgresText: String) { self = postgresText }
}

/// A number that PostgreSQL's text format and Swift's `description` spell alike.
public protocol PostgresTextNumber: PostgresEncodable, PostgresDecodable, LosslessStringConvertible {}

extension PostgresTextNumber {
    public var postgresText: String { description }
    public init(postgresText: String) throws {
        guard let value = Self(postgresText) else { throw PostgresDecodingError(type: "\(Self.self)", text: postgresText) }
        self = value
    }
}

extension Int: PostgresTextNumber {}
extension Int64: PostgresTextNumber {}
extension UInt64: PostgresTextNumber {}
extension Double: PostgresTextNumber {}

extension Bool: PostgresEncodable, PostgresDecodable {
    public var postgresText: String { self ? "t" : "f" }
    public init(postgresText: String) throws {
        switch postgresText {
        case "t", "true": self = true
        case "f", "false": self = false
        default: throw PostgresDecodingError(type: "Bool", text: postgresText)
        }
    }
}

extension UUID: PostgresEncodable, PostgresDecodable {
    public var postgresText: String { lowercasedText }
    public init(postgresText: String) throws {
        guard let value = UUID(canonical: postgresText) else { throw PostgresDecodingError(type: "UUID", text: postgresText) }
        self = value
    }
}

extension Date: PostgresEncodable, PostgresDecodable {
    /// Sent as an ISO 8601 timestamp in UTC with microseconds.
    public var postgresText: String {
        let micros = (timeIntervalSince1970 * 1_000_000).rounded()
        let seconds = Int64((micros / 1_000_000).rounded(.down))
        let fraction = Int64(micros) - seconds * 1_000_000
        let c = CivilTime.fields(unixSeconds: seconds)
        return CivilTime.day(c.year, c.month, c.day) + " " + CivilTime.padded(c.hour, 2) + ":" + CivilTime.padded(c.minute, 2)
            + ":" + CivilTime.padded(c.second, 2) + "." + CivilTime.padded(Int(fraction), 6) + "+00"
    }

    /// Parses PostgreSQL's ISO output (`2026-11-29 22:09:12.123456+00`); sessions run with TimeZone UTC.
    public init(postgresText text: String) throws {
        guard let date = PostgresTimestamp.parse(text) else { throw PostgresDecodingError(type: "Date", text: text) }
        self = date
    }
}

public enum PostgresTimestamp {
    /// `YYYY-MM-DD HH:MM:SS[.ffffff][+HH[:MM]]`
    public static func parse(_ text: String) -> Date? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 19 else { return nil }
        func number(_ from: Int, _ count: Int) -> Int? {
            guard from + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[from..<from + count] {
                guard byte >= 48 && byte <= 57 else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
            let hour = number(11, 2), let minute = number(14, 2), let second = number(17, 2)
        else { return nil }
        var index = 19
        var micros = 0
        if index < bytes.count && bytes[index] == UInt8(ascii: ".") {
            index += 1
            var digits = 0
            while index < bytes.count, bytes[index] >= 48, bytes[index] <= 57 {
                if digits < 6 { micros = micros * 10 + Int(bytes[index] - 48) }
                digits += 1
                index += 1
            }
            for _ in digits..<max(digits, 6) { micros *= 10 }
        }
        var offsetSeconds = 0
        if index < bytes.count {
            let sign = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            guard let oh = number(index + 1, 2) else { return nil }
            var om = 0
            if index + 3 < bytes.count, bytes[index + 3] == UInt8(ascii: ":"), let m = number(index + 4, 2) { om = m }
            offsetSeconds = sign * (oh * 3600 + om * 60)
        }
        let days = CivilTime.daysFromCivil(year: year, month: month, day: day)
        let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offsetSeconds
        return Date(timeIntervalSince1970: TimeInterval(seconds) + TimeInterval(micros) / 1_000_000)
    }

}
