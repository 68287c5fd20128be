import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IncidentStore
import IncidentTesting
import Logging
import NIOCore
import PostgresLibpq
import Testing

@testable import IncidentDaemon

@Suite("Review findings stay fixed")
struct EdgeCaseRegressionTests {
    @Test("a retried amendment replays; other content under its key is 409; a caller who cannot see the incident gets 404")
    func amendmentIdempotency() async throws {
        try await API.run { api in
            let id = try #require(try await api.call(.post, "/v1/incidents", token: api.reporter, json: report())["incident_id"]?.stringValue)
            let key = UUID().uuidString
            let body: JSONValue = ["expected_version": 1, "changes": ["killed": 1], "reason": "police report"]
            let first = try await api.call(.post, "/v1/incidents/\(id)/amendments", token: api.reporter, json: body, headers: [.idempotencyKey: key])
            let retry = try await api.call(.post, "/v1/incidents/\(id)/amendments", token: api.reporter, json: body, headers: [.idempotencyKey: key])
            #expect(first.status == 201 && retry.status == 200 && first.json == retry.json)
            let other = try await api.call(
                .post, "/v1/incidents/\(id)/amendments", token: api.reporter,
                json: ["expected_version": 1, "changes": ["killed": 5], "reason": "police report"], headers: [.idempotencyKey: key])
            #expect(other.status == 409 && other.errorCode == "idempotency_conflict")
            let stranger = try await api.call(.post, "/v1/incidents/\(id)/amendments", token: api.otherReporter, json: body, headers: [.idempotencyKey: key])
            #expect(stranger.status == 404)
            #expect(try await eventCount(api.db) == 2)
        }
    }

    @Test("after erasure: a retried report replays, new personal data is a 409, never a 500")
    func erasedPersonalData() async throws {
        try await API.run { api in
            let body = report(["incident_id": .string(UUID().uuidString.lowercased()), "personal": ["victim": "N. N."]])
            let id = try #require(try await api.call(.post, "/v1/incidents", token: api.reporter, json: body)["incident_id"]?.stringValue)
            #expect(try await api.call(.post, "/v1/incidents/\(id)/personal-data:erase", token: api.admin, json: ["reason": "request"]).status == 201)
            let retry = try await api.call(.post, "/v1/incidents", token: api.reporter, json: body)
            #expect(retry.status == 200, "the same file sent again is a replay")
            let amend = try await api.call(
                .post, "/v1/incidents/\(id)/amendments", token: api.admin,
                json: ["expected_version": 2, "changes": ["personal": ["victim": "again"]], "reason": "r"])
            #expect(amend.status == 409 && amend.errorCode == "personal_data_erased")
        }
    }

    @Test("roles are refused with 403 before the body is looked at; a 0000 date is a 422, not a stuck projector")
    func rolesFirstAndDates() async throws {
        try await API.run { api in
            let id = try #require(try await api.call(.post, "/v1/incidents", token: api.reporter, json: report())["incident_id"]?.stringValue)
            #expect(try await api.call(.post, "/v1/incidents/\(id)/verification", token: api.reporter, json: [:]).status == 403)
            #expect(try await api.call(.post, "/v1/incidents/\(id)/personal-data:erase", token: api.reviewer, json: [:]).status == 403)
            #expect(try await api.call(.post, "/v1/incidents/\(id)/amendments", token: api.analyst, json: [:]).status == 403)
            #expect(try await api.call(.post, "/v1/incidents", token: api.analyst, raw: Data("not json".utf8)).status == 403)
            #expect(try await api.call(.post, "/v1/incidents", token: api.reporter, json: report(["occurred_at": "0000-01-01"])).status == 422)
            #expect(try await api.call(.get, "/v1/incidents?since=0000-01-01", token: api.reporter).status == 400)
            try await api.settle()
        }
    }

    @Test("token names are never reused: a new holder must not inherit an old holder's incidents")
    func tokenNames() async throws {
        try await API.run { (api: API) async throws in
            #expect(try await api.call(.post, "/v1/admin/tokens", token: api.admin, json: ["name": "field-9", "role": "reporter"]).status == 201)
            #expect(try await api.call(.delete, "/v1/admin/tokens/field-9", token: api.admin).status == 200)
            #expect(try await api.call(.post, "/v1/admin/tokens", token: api.admin, json: ["name": "field-9", "role": "reporter"]).status == 409)
        }
    }
}
