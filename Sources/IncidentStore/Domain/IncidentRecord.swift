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

    /// Encoded as its stored form (`json`), so that the record's fields are spelled once.
    public func encode(to encoder: any Encoder) throws { try json.encode(to: encoder) }

    /// The stored form, built directly (without a coder's round trip through bytes: this runs for
    /// every report); ids are lower-case, as everywhere in the API.
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
