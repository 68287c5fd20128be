import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IncidentAPI
import IncidentStore
import IncidentTesting
import Logging
import NIOCore
import PostgresLibpq
import Testing

@testable import IncidentDaemon

@Suite("Batch and stream")
struct BatchAndStreamTests {
    @Test("a batch stores valid lines, reports the others by line, and replays on resend")
    func batch() async throws {
        try await API.run { api in
            let id = UUID().uuidString.lowercased()
            let lines = [
                report(["incident_id": .string(id)]).encodedString,
                report(["municipality": "Atlantis"]).encodedString,
                "{not json",
                "",
                report(["incident_id": .string(UUID().uuidString.lowercased()), "killed": 2]).encodedString,
            ].joined(separator: "\n")
            let reply = try await api.call(.post, "/v1/incidents:batch", token: api.reporter, raw: Data(lines.utf8), headers: [.contentType: "application/x-ndjson"])
            #expect(reply.status == 200)
            #expect(reply["accepted"] == 2 && reply["replayed"] == 0)
            // Read as ictl reads it.
            let body = try #require(reply.json).encoded()
            let answer = try #require(BatchAnswer(decoding: body))
            #expect(answer.accepted == 2 && answer.replayed == 0 && answer.rejected.map(\.line) == [2, 3])
            #expect(answer.rejected.first?.error.fields.map(\.field) == ["municipality"])
            #expect(answer.rejected.last?.error.code == "malformed_json")
            let again = try await api.call(.post, "/v1/incidents:batch", token: api.reporter, raw: Data(lines.utf8), headers: [.contentType: "application/x-ndjson"])
            #expect(again["accepted"] == 0 && again["replayed"] == 2)
            #expect(try await eventCount(api.db) == 2)
            #expect(try await api.call(.post, "/v1/incidents:batch", token: api.analyst, raw: Data(lines.utf8)).status == 403)
            for token in [api.reviewer, api.admin, api.otherReporter] {
                let line = report(["incident_id": .string(UUID().uuidString.lowercased())]).encodedString
                let reply = try await api.call(.post, "/v1/incidents:batch", token: token, raw: Data(line.utf8))
                #expect(reply.status == 200 && reply["accepted"] == 1)
            }
            // Three chunks of a thousand, each checked while the one before is written: every
            // line answered, by its own number.
            var many = (0..<2_500).map { _ in report(["incident_id": .string(UUID().uuidString.lowercased())]).encodedString }
            many[1_700] = report(["killed": -1]).encodedString
            let big = try await api.call(.post, "/v1/incidents:batch", token: api.reporter, raw: Data(many.joined(separator: "\n").utf8))
            #expect(big["accepted"] == 2_499)
            #expect(big["rejected"]?.arrayValue?.map { $0.objectValue?["line"] } == [1_701])
            #expect(try await eventCount(api.db) == 2 + 3 + 2_499)
            #expect(try await api.call(.post, "/v1/incidents:batch", token: nil, raw: Data("{}".utf8)).status == 401)
            #expect(try await api.call(.post, "/v1/incidents:batch", token: api.reporter, raw: Data("\n\n".utf8)).status == 400)
            let tooMany = Data(String(repeating: "{}\n", count: 10_001).utf8)
            #expect(try await api.call(.post, "/v1/incidents:batch", token: api.reporter, raw: tooMany).status == 413)
            #expect(try await api.call(.get, "/v1/events/stream", token: api.reporter).status == 403)
            #expect(try await api.call(.get, "/v1/events/stream?after=bogus", token: api.analyst).status == 400)
        }
    }
}
