import Foundation
import IncidentStore
import Logging
import PostgresLibpq

/// JSON shapes of the API. Personal data appears only where an admin reads one incident and asks
/// for it (`?include=personal`, audited); events never carry it, not even as ciphertext.
enum Render {
    static func timestamp(_ date: Date) -> JSONValue {
        .string(date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)))
    }

    static func write(_ outcome: WriteOutcome) -> JSONValue {
        [
            "incident_id": .string(outcome.incidentID.lowercasedText),
            "event_id": .string(outcome.eventID.lowercasedText),
            "stream_version": .number(Double(outcome.streamVersion)),
            "global_position": .number(Double(outcome.globalPosition)),
            "recorded_at": timestamp(outcome.recordedAt),
        ]
    }

    static func record(_ record: IncidentRecord) -> JSONValue {
        var object = ((try? JSONValue(encoding: record))?.objectValue) ?? [:]
        object["personal"] = nil
        return .object(object)
    }

    /// `{incident, version, status, ...}` as `principal` may see it.
    /// - Parameter personal: the personal data read for this answer (`null` when there is none).
    static func incident(_ state: IncidentState, personal: JSONValue?, events: [RecordedEvent]?, for principal: Principal) -> JSONValue {
        var incident = record(state.record).objectValue ?? [:]
        // Only a read that asked for it (and was audited) carries `personal`; null once erased.
        if let personal { incident["personal"] = personal }
        var body: [String: JSONValue] = [
            "incident": .object(incident),
            "version": .number(Double(state.version)),
            "status": .string(state.status.rawValue),
            "reported_at": timestamp(state.reportedAt),
            "updated_at": timestamp(state.updatedAt),
        ]
        if state.personalDataErased { body["personal_data_erased"] = true }
        if Disclosure.seesWhoActed(principal), let reporter = state.reportedBy { body["reported_by"] = .string(reporter) }
        if let events { body["events"] = .array(events.map { event($0, for: principal) }) }
        return .object(body)
    }

    static func event(_ event: RecordedEvent, for principal: Principal) -> JSONValue {
        var body: [String: JSONValue] = [
            "event_id": .string(event.eventID.lowercasedText),
            "stream": .string(event.stream),
            "stream_version": .number(Double(event.streamVersion)),
            "global_position": .number(Double(event.globalPosition)),
            "type": .string(event.type),
            "schema_version": .number(Double(event.schemaVersion)),
            "data": withoutPersonal(event.data),
            "recorded_at": timestamp(event.recordedAt),
        ]
        var metadata: [String: JSONValue] = [:]
        if Disclosure.seesWhoActed(principal) {
            if let name = event.metadata.principal { metadata["principal"] = .string(name) }
            if let role = event.metadata.role { metadata["role"] = .string(role) }
        }
        if let requestID = event.metadata.requestID { metadata["request_id"] = .string(requestID) }
        if let client = event.metadata.client { metadata["client"] = .string(client) }
        body["metadata"] = .object(metadata)
        return .object(body)
    }

    static func withoutPersonal(_ data: JSONValue) -> JSONValue {
        guard var object = data.objectValue else { return data }
        object["personal"] = nil
        if var changes = object["changes"]?.objectValue {
            changes["personal"] = nil
            object["changes"] = .object(changes)
        }
        return .object(object)
    }
}
