import Foundation

public enum IncidentStatus: String, Sendable, Codable, CaseIterable {
    case reported, verified, rejected, retracted

    /// Rejected and retracted incidents stay in the log but drop out of every figure.
    public var counts: Bool { self == .reported || self == .verified }
}

/// An incident's current state: its stream folded from the first event to the last.
public struct IncidentState: Sendable, Equatable {
    public var record: IncidentRecord
    public var status: IncidentStatus
    /// The stream version of the last event applied (the `expected_version` of the next write).
    public var version: Int
    /// The principal that reported the incident (a reporter may see and change its own only).
    public var reportedBy: String?
    public var personalDataErased: Bool
    public var reportedAt: Date
    public var updatedAt: Date

    /// Folds a stream's events, oldest first.
    ///
    /// - Returns: nil for an empty stream.
    /// - Throws: ``EventDecodingError`` when the stream is not a well-formed incident stream.
    public static func fold(_ events: [RecordedEvent]) throws -> IncidentState? {
        guard let first = events.first else { return nil }
        guard case .reported(let record) = try first.incidentEvent() else {
            throw EventDecodingError.firstEventNotReported(first.stream)
        }
        var state = IncidentState(
            record: record, status: .reported, version: first.streamVersion,
            reportedBy: first.metadata.principal, personalDataErased: false,
            reportedAt: first.recordedAt, updatedAt: first.recordedAt
        )
        for event in events.dropFirst() {
            try state.apply(event.incidentEvent(), version: event.streamVersion, at: event.recordedAt)
        }
        return state
    }

    /// Applies one later event.
    public mutating func apply(_ event: IncidentEvent, version: Int, at recordedAt: Date) throws {
        switch event {
        case .reported:
            throw EventDecodingError.firstEventNotReported(IncidentEvent.streamName(for: record.incidentID))
        case .amended(let amended):
            var object = (try JSONValue(encoding: record)).objectValue ?? [:]
            for (key, value) in amended.changes { object[key] = value == .null ? nil : value }
            record = try JSONValue.object(object).decode(IncidentRecord.self)
        case .verified:
            status = .verified
        case .rejected:
            status = .rejected
        case .retracted:
            status = .retracted
        case .personalDataErased:
            personalDataErased = true
            record.personal = nil
        case .narrativeRedacted(let redacted):
            var object = (try JSONValue(encoding: record)).objectValue ?? [:]
            NarrativeVault.redact(&object, with: redacted.replacement)
            record = try JSONValue.object(object).decode(IncidentRecord.self)
        }
        self.version = version
        self.updatedAt = recordedAt
    }
}

extension RecordedEvent {
    /// The domain event this stored event holds.
    public func incidentEvent() throws -> IncidentEvent {
        try IncidentEvent(type: type, schemaVersion: schemaVersion, data: data)
    }
}
