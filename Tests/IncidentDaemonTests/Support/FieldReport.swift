import Foundation
import IncidentStore
import IncidentTesting
import Logging
import PostgresLibpq
import Synchronization
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

// MARK: - Load with retries

/// One report as a field reporter sends it: with its own incident id and idempotency key.
struct FieldReport: Sendable {
    let incidentID: String
    let eventID: String
    let body: Data
    /// The same report as `ictl report --file` reads it (ictl adds the idempotency key).
    let fileBody: Data

    var stream: String { "incident-" + incidentID }

    static func make(_ count: Int) -> [FieldReport] {
        let kinds = [("ethnic_violence", "assault"), ("return_obstacle", "property_occupation"), ("unrest", "peaceful_protest"), ("ethnic_violence", "property_damage")]
        let places = ["Zubin Potok", "Klinë", "Prizren", "Pejë", "Gjilan", "Mitrovicë e Veriut"]
        return (0..<count).map { _ in
            let incidentID = UUID().uuidString.lowercased(), eventID = UUID().uuidString.lowercased()
            let (category, subcategory) = kinds.randomElement()!
            var fields: [String: JSONValue] = [
                "incident_id": .string(incidentID), "category": .string(category), "subcategory": .string(subcategory),
                "occurred_at": .string("2026-11-\(10 + Int.random(in: 0...18))"), "municipality": .string(places.randomElement()!),
                "summary": .string("Fault test report: houses of returnees damaged at night."), "source_type": "witness",
                "injured": .number(Double(Int.random(in: 0...3))),
            ]
            let file = JSONValue.object(fields).encoded()
            fields["event_id"] = .string(eventID)
            return FieldReport(incidentID: incidentID, eventID: eventID, body: Data(JSONValue.object(fields).encoded()), fileBody: Data(file))
        }
    }
}
