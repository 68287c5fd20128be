import Foundation
import IncidentStore
import Synchronization
import Testing

/// Reports, amendments and decisions written over HTTP one at a time, so that the log's order is
/// the order written, with the incident as the test itself folds it after each event: what a
/// subscription's filter is checked against, computed without the daemon's code.
final class SeededWorld: Sendable {
    struct Incident: Sendable {
        var id: String
        var category: String
        var municipality: String
        var killed: Int
        var injured: Int
        var status = "reported"
        var version = 1
        /// Confidential by its sub-category (human trafficking): never delivered without `include_confidential`.
        var confidential: Bool
        var district: String { Self.districts[municipality]! }

        static let districts = [
            "Zubin Potok": "XK-MIT", "Mitrovicë e Veriut": "XK-MIT", "Vushtrri": "XK-MIT", "Pejë": "XK-PEJ", "Klinë": "XK-PEJ", "Prishtinë": "XK-PRI",
        ]
    }

    struct Event: Sendable {
        var id: String
        var type: String
        /// The incident just after the event.
        var incident: Incident
    }

    let ports: [Int]
    let reporter: String, reviewer: String
    private let state = Mutex<[Event]>([])
    /// Stops ``seed(_:pause:)`` before its count.
    let stopped = Atomic<Bool>(false)

    /// Writes go to the first of `ports` that answers (the others after a failure: daemons are killed).
    init(ports: [Int], reporter: String, reviewer: String) {
        self.ports = ports
        self.reporter = reporter
        self.reviewer = reviewer
    }

    var events: [Event] { state.withLock { $0 } }

    /// The events of incidents an analyst may read that `matches` holds for, in log order.
    func expected(_ matches: (Event) -> Bool) -> [String] { events.filter { !$0.incident.confidential && matches($0) }.map(\.id) }

    /// `count` incidents, each reported, some amended into another municipality, some verified or
    /// rejected; with personal data on each, which no subscriber may receive.
    func seed(_ count: Int, pause: Duration = .zero) async throws {
        let kinds = [
            ("ethnic_violence", "killing", 1), ("ethnic_violence", "assault", 0), ("return_obstacle", "property_occupation", 0), ("trafficking", "human_trafficking", 1),
        ]
        let places = ["Zubin Potok", "Pejë", "Klinë", "Prishtinë", "Mitrovicë e Veriut"]
        let start = events.count
        for index in start..<(start + count) where !stopped.load(ordering: .relaxed) {
            let (category, subcategory, killed) = kinds[index % kinds.count]
            var incident = Incident(
                id: UUID().uuidString.lowercased(), category: category, municipality: places[index % places.count], killed: killed * (1 + index % 2),
                injured: index % 3, confidential: subcategory == "human_trafficking")
            let body: JSONValue = [
                "incident_id": .string(incident.id), "category": .string(category), "subcategory": .string(subcategory), "occurred_at": "2026-11-20",
                "municipality": .string(incident.municipality), "summary": "Seeded for the subscription tests.", "source_type": "witness",
                "killed": .number(Double(incident.killed)), "injured": .number(Double(incident.injured)),
                "personal": ["victims": [["name": .string(Self.victimName)]]],
            ]
            try await write("/v1/incidents", body, token: reporter, type: "IncidentReported", incident: incident)
            if index % 3 == 0 {
                incident.municipality = "Vushtrri"
                incident.injured += 1
                incident.version += 1
                let changes: JSONValue = ["municipality": "Vushtrri", "injured": .number(Double(incident.injured))]
                try await write(
                    "/v1/incidents/\(incident.id)/amendments",
                    ["expected_version": .number(Double(incident.version - 1)), "changes": changes, "reason": "second source"],
                    token: reporter, type: "IncidentAmended", incident: incident)
            }
            if index % 4 != 1 {
                let decision = index % 4 == 2 ? "rejected" : "verified"
                incident.status = decision
                incident.version += 1
                try await write(
                    "/v1/incidents/\(incident.id)/verification",
                    ["expected_version": .number(Double(incident.version - 1)), "decision": .string(decision), "note": "checked with the station"], token: reviewer,
                    type: decision == "verified" ? "IncidentVerified" : "IncidentRejected", incident: incident)
            }
            if pause > .zero { try await Task.sleep(for: pause) }
        }
    }

    static let victimName = "Drita Seedvictim"

    /// One write, sent again (the same idempotency key) until a daemon answers it 2xx.
    private func write(_ path: String, _ body: JSONValue, token: String, type: String, incident: Incident) async throws {
        let key = UUID().uuidString.lowercased()
        let deadline = ContinuousClock.now + .seconds(120)
        for attempt in 0... {
            let answer = await post(ports[attempt % ports.count], path, token: token, body: Data(body.encoded()), headers: ["Idempotency-Key": key])
            if let status = answer.status, (200..<300).contains(status), let id = answer.json?.objectValue?["event_id"]?.stringValue {
                state.withLock { $0.append(Event(id: id, type: type, incident: incident)) }
                return
            }
            if let status = answer.status, status < 500 {
                Issue.record("a seeded write was refused: \(path) \(status) \(String(describing: answer.json))")
                throw CancellationError()
            }
            guard ContinuousClock.now < deadline else {
                Issue.record("no daemon took a seeded write for 2 minutes: \(path)")
                throw CancellationError()
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }
}
