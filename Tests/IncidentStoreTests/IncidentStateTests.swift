import Foundation
import PostgresLibpq
import Testing

@testable import IncidentStore

@Suite("Folding an incident stream")
struct IncidentStateTests {
    let record = IncidentRecord(
        incidentID: UUID(), category: "ethnic_violence", subcategory: "assault", occurredAt: "2026-11-20",
        datePrecision: .day, municipality: "XK-MIT-07", place: nil, lat: nil, lon: nil, geoPrecision: 2,
        summary: "assault", perpetrator: nil, target: nil, affectedCommunities: [], killed: 0, killedLow: nil,
        killedHigh: nil, injured: 1, abducted: 0, displaced: 0, sourceType: .witness, sourceReliability: nil,
        infoCredibility: nil, sensitivity: .restricted, tags: [], personal: SealedPersonalData(ciphertext: "AAAA")
    )

    func recorded(_ event: IncidentEvent, version: Int, principal: String = "officer") throws -> RecordedEvent {
        RecordedEvent(
            globalPosition: Int64(version), transactionID: UInt64(version), eventID: UUID(),
            stream: IncidentEvent.streamName(for: record.incidentID), streamVersion: version,
            type: event.eventType.rawValue, schemaVersion: 1, data: try event.data(),
            metadata: EventMetadata(principal: principal), recordedAt: Date(timeIntervalSince1970: Double(version))
        )
    }

    @Test("report, amend, verify, reject, retract, erase")
    func lifecycle() throws {
        var events = [
            try recorded(.reported(record), version: 1),
            try recorded(
                .amended(IncidentAmended(changes: ["municipality": "XK-PEJ-01", "killed": 2, "place": "market"], reason: "wrong place")), version: 2,
                principal: "reviewer"),
        ]
        var state = try #require(try IncidentState.fold(events))
        #expect(state.record.municipality == "XK-PEJ-01")
        #expect(state.record.killed == 2)
        #expect(state.record.place == "market")
        #expect(state.status == .reported && state.version == 2 && state.reportedBy == "officer")

        events.append(try recorded(.verified(ReviewDecision(note: "confirmed by police")), version: 3))
        state = try #require(try IncidentState.fold(events))
        #expect(state.status == .verified)
        events.append(try recorded(.rejected(ReviewDecision(note: "second source contradicts")), version: 4))
        #expect(try IncidentState.fold(events)?.status == .rejected)
        events.append(try recorded(.amended(IncidentAmended(changes: ["place": nil], reason: "unclear")), version: 5))
        #expect(try IncidentState.fold(events)?.record.place == nil)
        events.append(try recorded(.retracted(IncidentRetracted(reason: .duplicate, duplicateOf: UUID())), version: 6))
        #expect(try IncidentState.fold(events)?.status == .retracted)
        #expect(try IncidentState.fold(events)?.status.counts == false)
        events.append(try recorded(.personalDataErased(PersonalDataErased(reason: "request of the victim")), version: 7))
        state = try #require(try IncidentState.fold(events))
        #expect(state.personalDataErased && state.record.personal == nil && state.version == 7)
    }

    @Test("a record's stored form is what its Codable encoding writes, with every optional field set or not")
    func storedForm() throws {
        var full = record
        full.place = "Market square"; full.lat = 42.89; full.lon = 20.87; full.perpetrator = "unknown"; full.target = "shop"
        full.killedLow = 0; full.killedHigh = 2; full.sourceReliability = "B"; full.infoCredibility = 2
        full.affectedCommunities = [.serb, .albanian]; full.tags = ["market", "night"]
        var bare = record
        bare.personal = nil
        for candidate in [record, full, bare] {
            #expect(candidate.json == (try JSONValue(encoding: candidate)))
            #expect(try candidate.json.decode(IncidentRecord.self) == candidate)
        }
    }

    @Test(
        "text is trimmed as Foundation trims white space and newlines",
        arguments: ["plain", "  both ends  ", "\t\ntabs\n", "\u{00A0}no-break\u{3000}", "inner  space kept", "   ", "", "\u{2028}x\u{2029}", "Pejë "])
    func trimming(text: String) {
        #expect(FieldReader.trimmed(text) == text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    @Test("a stream must start with IncidentReported")
    func mustStartWithReport() throws {
        let events = [try recorded(.verified(ReviewDecision(note: "x")), version: 1)]
        #expect(throws: EventDecodingError.self) { try IncidentState.fold(events) }
    }

    @Test("every event type round-trips through its stored form")
    func roundTrip() throws {
        let events: [IncidentEvent] = [
            .reported(record), .amended(IncidentAmended(changes: ["killed": 1], reason: "r")),
            .verified(ReviewDecision(note: "n")), .rejected(ReviewDecision(note: "n")),
            .retracted(IncidentRetracted(reason: .outOfScope)), .personalDataErased(PersonalDataErased(reason: "r")),
        ]
        for event in events {
            let decoded = try IncidentEvent(type: event.eventType.rawValue, schemaVersion: 1, data: try event.data())
            #expect(decoded == event)
        }
        #expect(throws: EventDecodingError.self) { try IncidentEvent(type: "IncidentReported", schemaVersion: 9, data: [:]) }
    }
}
