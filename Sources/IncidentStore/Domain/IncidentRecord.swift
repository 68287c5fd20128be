import Foundation
import PostgresLibpq

public enum DatePrecision: String, Sendable, Codable, CaseIterable { case day, week, month }

public enum Sensitivity: String, Sendable, Codable, CaseIterable, Comparable {
    case `public`, restricted, confidential

    public static func < (a: Sensitivity, b: Sensitivity) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

public enum SourceType: String, Sendable, Codable, CaseIterable {
    case directObservation = "direct_observation"
    case police, victim, witness
    case communityLeader = "community_leader"
    case ngo, media, other
}

public enum Community: String, Sendable, Codable, CaseIterable {
    case albanian, serb, roma, ashkali, egyptian, bosniak, gorani, turkish, montenegrin, croat, other
}

/// Personal data of victims or witnesses, sealed with the incident's own key (AES-GCM).
/// The log holds only this: ciphertext that becomes unreadable forever once the key is erased.
public struct SealedPersonalData: Sendable, Codable, Equatable {
    public var algorithm: String
    /// The nonce, ciphertext and tag, base64 (`AES.GCM.SealedBox.combined`).
    public var ciphertext: String

    public init(algorithm: String = "AES-256-GCM", ciphertext: String) {
        self.algorithm = algorithm
        self.ciphertext = ciphertext
    }
}

/// The incident record (docs/data-model.md, The incident record) in its canonical, validated form: the municipality is a
/// code, text is trimmed, defaults are filled in, forced sensitivities are applied.
public struct IncidentRecord: Sendable, Codable, Equatable {
    public var incidentID: UUID
    public var category: String
    public var subcategory: String
    /// `YYYY-MM-DD`, or an RFC 3339 timestamp in UTC (`2026-11-29T21:09:12Z`).
    public var occurredAt: String
    public var datePrecision: DatePrecision
    /// Municipality code, e.g. `XK-PEJ-01`.
    public var municipality: String
    public var place: String?
    public var lat: Double?
    public var lon: Double?
    public var geoPrecision: Int
    public var summary: String
    public var perpetrator: String?
    public var target: String?
    public var affectedCommunities: [Community]
    public var killed: Int
    public var killedLow: Int?
    public var killedHigh: Int?
    public var injured: Int
    public var abducted: Int
    public var displaced: Int
    public var sourceType: SourceType
    public var sourceReliability: String?
    public var infoCredibility: Int?
    public var sensitivity: Sensitivity
    public var tags: [String]
    public var personal: SealedPersonalData?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case incidentID = "incident_id"
        case category, subcategory
        case occurredAt = "occurred_at"
        case datePrecision = "date_precision"
        case municipality, place, lat, lon
        case geoPrecision = "geo_precision"
        case summary, perpetrator, target
        case affectedCommunities = "affected_communities"
        case killed
        case killedLow = "killed_low"
        case killedHigh = "killed_high"
        case injured, abducted, displaced
        case sourceType = "source_type"
        case sourceReliability = "source_reliability"
        case infoCredibility = "info_credibility"
        case sensitivity, tags, personal
    }

    /// Encoded field by field so that ids are lower-case, as everywhere in the API.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(incidentID.lowercasedText, forKey: .incidentID)
        try c.encode(category, forKey: .category)
        try c.encode(subcategory, forKey: .subcategory)
        try c.encode(occurredAt, forKey: .occurredAt)
        try c.encode(datePrecision, forKey: .datePrecision)
        try c.encode(municipality, forKey: .municipality)
        try c.encodeIfPresent(place, forKey: .place)
        try c.encodeIfPresent(lat, forKey: .lat)
        try c.encodeIfPresent(lon, forKey: .lon)
        try c.encode(geoPrecision, forKey: .geoPrecision)
        try c.encode(summary, forKey: .summary)
        try c.encodeIfPresent(perpetrator, forKey: .perpetrator)
        try c.encodeIfPresent(target, forKey: .target)
        try c.encode(affectedCommunities, forKey: .affectedCommunities)
        try c.encode(killed, forKey: .killed)
        try c.encodeIfPresent(killedLow, forKey: .killedLow)
        try c.encodeIfPresent(killedHigh, forKey: .killedHigh)
        try c.encode(injured, forKey: .injured)
        try c.encode(abducted, forKey: .abducted)
        try c.encode(displaced, forKey: .displaced)
        try c.encode(sourceType, forKey: .sourceType)
        try c.encodeIfPresent(sourceReliability, forKey: .sourceReliability)
        try c.encodeIfPresent(infoCredibility, forKey: .infoCredibility)
        try c.encode(sensitivity, forKey: .sensitivity)
        try c.encode(tags, forKey: .tags)
        try c.encodeIfPresent(personal, forKey: .personal)
    }

    /// The stored form, built directly (what `encode(to:)` writes, without a coder's round trip
    /// through bytes: this runs for every report).
    public var json: JSONValue {
        var fields: [String: JSONValue] = [
            "incident_id": .string(incidentID.lowercasedText), "category": .string(category),
            "subcategory": .string(subcategory), "occurred_at": .string(occurredAt), "date_precision": .string(datePrecision.rawValue),
            "municipality": .string(municipality), "geo_precision": .number(Double(geoPrecision)), "summary": .string(summary),
            "affected_communities": .array(affectedCommunities.map { .string($0.rawValue) }),
            "killed": .number(Double(killed)), "injured": .number(Double(injured)), "abducted": .number(Double(abducted)),
            "displaced": .number(Double(displaced)), "source_type": .string(sourceType.rawValue),
            "sensitivity": .string(sensitivity.rawValue), "tags": .array(tags.map { .string($0) }),
        ]
        func optional(_ key: String, _ value: JSONValue?) { if let value { fields[key] = value } }
        optional("place", place.map { .string($0) })
        optional("lat", lat.map { .number($0) })
        optional("lon", lon.map { .number($0) })
        optional("perpetrator", perpetrator.map { .string($0) })
        optional("target", target.map { .string($0) })
        optional("killed_low", killedLow.map { .number(Double($0)) })
        optional("killed_high", killedHigh.map { .number(Double($0)) })
        optional("source_reliability", sourceReliability.map { .string($0) })
        optional("info_credibility", infoCredibility.map { .number(Double($0)) })
        optional("personal", personal.map { .object(["algorithm": .string($0.algorithm), "ciphertext": .string($0.ciphertext)]) })
        return .object(fields)
    }

    /// The calendar day in Kosovo (Europe/Belgrade) on which the incident occurred: `occurred_at`
    /// decides the day every figure counts it on.
    public var occurredDay: String { IncidentTime.day(ofOccurredAt: occurredAt) }
}

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
