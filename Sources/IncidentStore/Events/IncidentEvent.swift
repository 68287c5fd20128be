import Foundation
import PostgresLibpq

public struct IncidentAmended: Sendable, Codable, Equatable {
    /// The changed fields in canonical form; `personal` holds sealed data (or null when removed).
    public var changes: [String: JSONValue]
    public var reason: String

    public init(changes: [String: JSONValue], reason: String) {
        self.changes = changes
        self.reason = reason
    }
}

public struct ReviewDecision: Sendable, Codable, Equatable {
    public var note: String
    public init(note: String) { self.note = note }
}

public enum RetractionReason: String, Sendable, Codable, CaseIterable {
    case duplicate, erroneous
    case outOfScope = "out_of_scope"
}

public struct IncidentRetracted: Sendable, Codable, Equatable {
    public var reason: RetractionReason
    public var duplicateOf: UUID?

    enum CodingKeys: String, CodingKey { case reason, duplicateOf = "duplicate_of" }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(reason, forKey: .reason)
        try container.encodeIfPresent(duplicateOf?.lowercasedText, forKey: .duplicateOf)
    }

    public init(reason: RetractionReason, duplicateOf: UUID? = nil) {
        self.reason = reason
        self.duplicateOf = duplicateOf
    }
}

public struct PersonalDataErased: Sendable, Codable, Equatable {
    public var reason: String
    public init(reason: String) { self.reason = reason }
}

/// An incident's narrative key was destroyed (`POST /v1/incidents/{id}/narrative:redact`): its
/// free text in the log is unreadable from now on, and reads show `replacement` instead (or
/// `[redacted]` for a field without one). The replacement and the reason are sealed under the
/// key's next generation.
public struct NarrativeRedacted: Sendable, Codable, Equatable {
    /// The narrative key's generation from this event on (every older one is destroyed).
    public var generation: Int
    /// The texts of `summary`, `place`, `perpetrator`, `target` from now on: the replacements
    /// given, `[redacted]` for a field that had a value and got none, absent for one that had none.
    public var replacement: [String: String]
    public var reason: String

    public init(generation: Int, replacement: [String: String], reason: String) {
        (self.generation, self.replacement, self.reason) = (generation, replacement, reason)
    }
}

/// The events of an incident's stream (`incident-<incident_id>`), docs/data-model.md, Events.
public enum IncidentEvent: Sendable, Equatable {
    case reported(IncidentRecord)
    case amended(IncidentAmended)
    case verified(ReviewDecision)
    case rejected(ReviewDecision)
    case retracted(IncidentRetracted)
    case personalDataErased(PersonalDataErased)
    case narrativeRedacted(NarrativeRedacted)

    public enum EventType: String, Sendable, CaseIterable {
        case reported = "IncidentReported"
        case amended = "IncidentAmended"
        case verified = "IncidentVerified"
        case rejected = "IncidentRejected"
        case retracted = "IncidentRetracted"
        case personalDataErased = "PersonalDataErased"
        case narrativeRedacted = "NarrativeRedacted"

        /// The version of the stored data's shape written today. Version 2 seals the free text
        /// (``NarrativeVault``); opened, it has version 1's shape, so every fold reads both.
        public var schemaVersion: Int {
            switch self {
            case .reported, .amended, .verified, .rejected, .personalDataErased: 2
            case .retracted, .narrativeRedacted: 1
            }
        }

        /// Whether this build reads `version` of the type (every version up to today's).
        public func reads(schemaVersion version: Int) -> Bool { (1...schemaVersion).contains(version) }
    }

    public var eventType: EventType {
        switch self {
        case .reported: .reported
        case .amended: .amended
        case .verified: .verified
        case .rejected: .rejected
        case .retracted: .retracted
        case .personalDataErased: .personalDataErased
        case .narrativeRedacted: .narrativeRedacted
        }
    }

    /// What every incident stream's name starts with; the id follows.
    public static let streamPrefix = "incident-"

    public static func streamName(for incidentID: UUID) -> String {
        streamPrefix + incidentID.lowercasedText
    }

    /// The incident id a stream name carries, or nil when it is not an incident stream.
    public static func incidentID(fromStream stream: String) -> UUID? {
        guard stream.hasPrefix(streamPrefix) else { return nil }
        return UUID(canonical: stream.dropFirst(streamPrefix.count))
    }

    /// ``incidentID(fromStream:)`` in SQL, on the text column `stream` of an incident stream (as text).
    static func incidentIDText(fromStreamColumn stream: String) -> String {
        "substr(\(stream), \(streamPrefix.count + 1))"
    }

    /// ``streamName(for:)`` in SQL, on a uuid column.
    static func streamName(forColumn incidentID: String) -> String {
        "'\(streamPrefix)' || \(incidentID)::text"
    }

    /// The event's data as stored in the log.
    public func data() throws -> JSONValue {
        switch self {
        case .reported(let record): record.json
        case .amended(let amended): try JSONValue(encoding: amended)
        case .verified(let decision), .rejected(let decision): try JSONValue(encoding: decision)
        case .retracted(let retracted): try JSONValue(encoding: retracted)
        case .personalDataErased(let erased): try JSONValue(encoding: erased)
        case .narrativeRedacted(let redacted): try JSONValue(encoding: redacted)
        }
    }

    /// An event to append, with its idempotency key, its free text sealed under `narrative`
    /// (the incident's current narrative key): the log holds no plain text.
    public func toAppend(eventID: UUID, metadata: EventMetadata, narrative: NarrativeVault.Key) throws -> EventToAppend {
        EventToAppend(
            eventID: eventID, type: eventType.rawValue, schemaVersion: eventType.schemaVersion,
            data: try NarrativeVault.seal(try data(), type: eventType, with: narrative), metadata: metadata)
    }

    /// Decodes an event's plain data (stored data opened by ``NarrativeVault``). Each version a
    /// type ever had is read here, so the log is never rewritten.
    public init(type: String, schemaVersion: Int, data: JSONValue) throws {
        guard let eventType = EventType(rawValue: type) else { throw EventDecodingError.unknownType(type) }
        guard eventType.reads(schemaVersion: schemaVersion) else {
            throw EventDecodingError.unknownSchemaVersion(type: type, version: schemaVersion)
        }
        switch eventType {
        case .reported: self = .reported(try data.decode(IncidentRecord.self))
        case .amended: self = .amended(try data.decode(IncidentAmended.self))
        case .verified: self = .verified(try data.decode(ReviewDecision.self))
        case .rejected: self = .rejected(try data.decode(ReviewDecision.self))
        case .retracted: self = .retracted(try data.decode(IncidentRetracted.self))
        case .personalDataErased: self = .personalDataErased(try data.decode(PersonalDataErased.self))
        case .narrativeRedacted: self = .narrativeRedacted(try data.decode(NarrativeRedacted.self))
        }
    }
}

public enum EventDecodingError: Error, CustomStringConvertible {
    case unknownType(String)
    case unknownSchemaVersion(type: String, version: Int)
    case notAnIncidentStream(String)
    case firstEventNotReported(String)
    /// An event of a known type without a field its fold needs, or with one it cannot read.
    case malformed(String)

    public var description: String {
        switch self {
        case .unknownType(let type): "unknown event type \(type)"
        case .unknownSchemaVersion(let type, let version): "\(type) schema version \(version) is newer than this build"
        case .notAnIncidentStream(let stream): "\(stream) is not an incident stream"
        case .firstEventNotReported(let stream): "stream \(stream) does not start with IncidentReported"
        case .malformed(let what): what
        }
    }
}
