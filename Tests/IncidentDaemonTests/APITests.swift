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

@Suite("HTTP API (docs/api.md)")
struct APITests {
    @Test("the reporting path: report, read, amend, decide, list, log, retract")
    func reportingPath() async throws {
        try await API.run { api in
            let created = try await api.call(.post, "/v1/incidents", token: api.reporter, json: report(["injured": 2]))
            #expect(created.status == 201)
            let id = try #require(created["incident_id"]?.stringValue)
            #expect(created["stream_version"] == 1)
            for key in ["event_id", "global_position", "recorded_at"] { #expect(created[key] != nil, "\(key)") }

            let read = try await api.call(.get, "/v1/incidents/\(id)", token: api.reporter)
            #expect(read.status == 200)
            #expect(read["status"] == "reported" && read["version"] == 1)
            #expect(read["incident"]?.objectValue?["municipality"] == "XK-MIT-07")

            let amended = try await api.call(
                .post, "/v1/incidents/\(id)/amendments", token: api.reporter,
                json: ["expected_version": 1, "changes": ["municipality": "pec", "killed": 1], "reason": "police report"])
            #expect(amended.status == 201 && amended["stream_version"] == 2)
            let verified = try await api.call(
                .post, "/v1/incidents/\(id)/verification", token: api.reviewer,
                json: ["expected_version": 2, "decision": "verified", "note": "confirmed"])
            #expect(verified.status == 201)
            let rejected = try await api.call(
                .post, "/v1/incidents/\(id)/verification", token: api.reviewer,
                json: ["expected_version": 3, "decision": "rejected", "note": "second source contradicts"])
            #expect(rejected.status == 201)

            let history = try await api.call(.get, "/v1/incidents/\(id)?history=true", token: api.reviewer)
            #expect(history["status"] == "rejected" && history["version"] == 4)
            #expect(history["events"].flatMap { if case .array(let e) = $0 { e.count } else { nil } } == 4)

            try await api.settle()
            let listed = try await api.call(.get, "/v1/incidents?district=Pej%C3%AB&status=rejected", token: api.analyst)
            #expect(listed.status == 200)
            #expect(listed["items"].flatMap { if case .array(let items) = $0 { items.count } else { nil } } == 1)
            let none = try await api.call(.get, "/v1/incidents?municipality=XK-MIT-07", token: api.analyst)
            #expect(none["items"] == [])

            let log = try await api.call(.get, "/v1/events?limit=2", token: api.analyst)
            #expect(log.status == 200)
            let checkpoint = try #require(log["checkpoint"]?.stringValue)
            let rest = try await api.call(.get, "/v1/events?after=\(checkpoint)", token: api.analyst)
            #expect(rest["events"].flatMap { if case .array(let e) = $0 { e.count } else { nil } } == 2)

            let retracted = try await api.call(
                .post, "/v1/incidents/\(id)/retraction", token: api.reporter,
                json: ["expected_version": 4, "reason": "duplicate", "duplicate_of": .string(UUID().uuidString)])
            #expect(retracted.status == 201)
            let again = try await api.call(.post, "/v1/incidents/\(id)/retraction", token: api.reporter, json: ["expected_version": 5, "reason": "erroneous"])
            #expect(again.status == 409 && again.errorCode == "retracted")

            #expect(try await api.call(.get, "/v1/taxonomy", token: api.reporter).status == 200)
            let regions = try await api.call(.get, "/v1/regions", token: api.reporter)
            #expect(regions["districts"].flatMap { if case .array(let d) = $0 { d.count } else { nil } } == 7)
            #expect(try await api.call(.get, "/healthz", token: nil).status == 200)
            #expect(try await api.call(.get, "/readyz", token: nil).status == 200)
        }
    }

    @Test("an idempotent replay answers 200 with the original body; other content under the same key is 409")
    func idempotency() async throws {
        try await API.run { api in
            let key = UUID().uuidString
            let first = try await api.call(.post, "/v1/incidents", token: api.reporter, json: report(), headers: [.idempotencyKey: key])
            let second = try await api.call(.post, "/v1/incidents", token: api.reporter, json: report(), headers: [.idempotencyKey: key])
            #expect(first.status == 201 && second.status == 200)
            #expect(first.json == second.json)
            let other = try await api.call(.post, "/v1/incidents", token: api.reporter, json: report(["injured": 3]), headers: [.idempotencyKey: key])
            #expect(other.status == 409 && other.errorCode == "idempotency_conflict")
            #expect(try await eventCount(api.db) == 1)
        }
    }

    @Test("a stale expected version is a 409 version_conflict with the current version")
    func versionConflict() async throws {
        try await API.run { api in
            let id = try #require(try await api.call(.post, "/v1/incidents", token: api.reporter, json: report())["incident_id"]?.stringValue)
            let stale = try await api.call(
                .post, "/v1/incidents/\(id)/amendments", token: api.reporter,
                json: ["expected_version": 7, "changes": ["killed": 1], "reason": "r"])
            #expect(stale.status == 409 && stale.errorCode == "version_conflict")
            #expect(stale.json?.objectValue?["error"]?.objectValue?["details"]?.objectValue?["current_version"] == 1)
        }
    }

    @Test("bad input gets a clear JSON error and writes nothing")
    func badInput() async throws {
        try await API.run { api in
            let cases: [(String, Data, Int, String)] = [
                ("malformed JSON", Data("{\"category\": ".utf8), 400, "malformed_json"),
                ("invalid UTF-8", Data([0x7B, 0x22, 0x73, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0x22, 0x7D]), 400, "malformed_json"),
                ("unknown fields", report(["colour": "red", "sumary": "x"]).encoded(), 400, "unknown_fields"),
                ("wrong types", report(["killed": "two", "lat": true, "lon": 20.5]).encoded(), 422, "validation_failed"),
                ("a future date", report(["occurred_at": "2099-01-01"]).encoded(), 422, "validation_failed"),
                ("coordinates outside Kosovo", report(["lat": 45.0, "lon": 20.0]).encoded(), 422, "validation_failed"),
                ("a subcategory of another category", report(["subcategory": "drug_smuggling"]).encoded(), 422, "validation_failed"),
                ("a body over 1 MiB", Data(("{\"summary\": \"" + String(repeating: "x", count: 1_100_000) + "\"}").utf8), 413, "payload_too_large"),
                ("not an object", Data("[1, 2]".utf8), 422, "validation_failed"),
            ]
            for (name, body, status, code) in cases {
                let reply = try await api.call(.post, "/v1/incidents", token: api.reporter, raw: body, headers: [.contentType: "application/json"])
                #expect(reply.status == status, "\(name)")
                #expect(reply.errorCode == code, "\(name): \(String(describing: reply.json))")
                #expect(reply.json?.objectValue?["error"]?.objectValue?["message"]?.stringValue?.isEmpty == false, "\(name)")
            }
            let unknown = try await api.call(.post, "/v1/incidents", token: api.reporter, json: report(["colour": "red"]))
            #expect(unknown.errorCode == "unknown_fields")
            #expect(unknown.json?.encodedString.contains("colour") == true, "the 400 names the field")
            #expect(try await eventCount(api.db) == 0)
        }
    }

    @Test("missing, malformed, unknown and revoked tokens are 401")
    func authentication() async throws {
        try await API.run { api in
            #expect(try await api.call(.get, "/v1/taxonomy", token: nil).status == 401)
            #expect(try await api.call(.get, "/v1/taxonomy", token: "il_not-a-real-token").status == 401)
            #expect(try await api.call(.get, "/v1/taxonomy", token: nil, headers: [.authorization: "Basic abc"]).status == 401)
            let created = try await api.call(.post, "/v1/admin/tokens", token: api.admin, json: ["name": "field-7", "role": "reporter", "expires": "30d"])
            #expect(created.status == 201)
            let secret = try #require(created["token"]?.stringValue)
            #expect(try await api.call(.get, "/v1/taxonomy", token: secret).status == 200)
            #expect(try await api.call(.delete, "/v1/admin/tokens/field-7", token: api.admin).status == 200)
            #expect(try await api.call(.get, "/v1/taxonomy", token: secret).status == 401)
            let listed = try await api.call(.get, "/v1/admin/tokens", token: api.admin)
            #expect(listed.json?.encodedString.contains(secret) == false, "secrets are never listed")
            #expect(try await api.call(.delete, "/v1/admin/tokens/nobody", token: api.admin).status == 404)
            // An expired token: made to expire in the past directly in the database.
            let expiring = try await AccessTokens(pool: api.db.pool).create(name: "old", role: .admin, expiresAt: Date().addingTimeInterval(-60))
            #expect(try await api.call(.get, "/v1/taxonomy", token: expiring).status == 401)
        }
    }

    @Test("remembered tokens: a revocation by another process takes effect when its transaction commits")
    func rememberedTokens() async throws {
        let cache = TokenCache()
        try await API.run(tokenCache: cache) { api in
            for _ in 0..<250 where !cache.isListening { try await Task.sleep(for: .milliseconds(20)) }
            #expect(cache.isListening)
            let elsewhere = AccessTokens(pool: api.db.pool)  // no cache: as `incidentd token revoke` runs
            let field = try await elsewhere.create(name: "field-9", role: .reporter)
            let other = try await elsewhere.create(name: "other", role: .analyst)
            #expect(try await api.call(.get, "/v1/taxonomy", token: field).status == 200)
            #expect(try await api.call(.get, "/v1/taxonomy", token: other).status == 200)
            #expect(cache.count >= 2, "both tokens are remembered")

            try await elsewhere.revoke(name: "field-9")
            // The trigger notifies at commit; the listener forgets as soon as it hears it.
            let revokedAt = ContinuousClock.now
            while cache.count > 0 && ContinuousClock.now - revokedAt < .seconds(2) { try await Task.sleep(for: .milliseconds(1)) }
            #expect(cache.count == 0, "a change to api_tokens empties the cache")
            #expect(try await api.call(.get, "/v1/taxonomy", token: field).status == 401)

        }
    }

    @Test("the role × endpoint matrix")
    func roleMatrix() async throws {
        try await API.run { api in
            // One incident of reporter A's, and a confidential one of reporter B's.
            let own = try #require(try await api.call(.post, "/v1/incidents", token: api.reporter, json: report())["incident_id"]?.stringValue)
            let secret = try #require(
                try await api.call(
                    .post, "/v1/incidents", token: api.otherReporter,
                    json: report(["category": "sexual_violence", "subcategory": "sexual_violence"]))["incident_id"]?.stringValue)
            #expect(try await api.call(.post, "/v1/incidents", token: api.reviewer, json: report()).status == 201)
            #expect(try await api.call(.post, "/v1/incidents", token: api.admin, json: report()).status == 201)
            #expect(try await api.call(.post, "/v1/incidents", token: api.analyst, json: report()).status == 403)

            // Reading one incident.
            try await Self.readsOfOneIncidentByRole(api, own: own, secret: secret)
            // A reporter cannot tell another's incident from one that does not exist.
            let missing = try await api.call(.get, "/v1/incidents/\(UUID().uuidString)", token: api.reporter)
            let hidden = try await api.call(.get, "/v1/incidents/\(secret)", token: api.reporter)
            #expect(missing.status == hidden.status && missing.json == hidden.json)

            // Amending: own or any for reviewers/admins; analysts never.
            func amend(_ token: String, _ id: String) async throws -> Int {
                let current = try await api.call(.get, "/v1/incidents/\(id)", token: api.admin)["version"]!
                return try await api.call(
                    .post, "/v1/incidents/\(id)/amendments", token: token,
                    json: ["expected_version": current, "changes": ["injured": .number(Double(Int.random(in: 1...1000)))], "reason": "r"]
                ).status
            }
            #expect(try await amend(api.reporter, own) == 201)
            #expect(try await amend(api.otherReporter, own) == 404)
            #expect(try await amend(api.analyst, own) == 403)
            #expect(try await amend(api.reviewer, own) == 201)
            #expect(try await amend(api.admin, secret) == 201)

            // Deciding: reviewers and admins only.
            func decide(_ token: String, _ id: String) async throws -> Int {
                let current = try await api.call(.get, "/v1/incidents/\(id)", token: api.admin)["version"]!
                return try await api.call(
                    .post, "/v1/incidents/\(id)/verification", token: token,
                    json: ["expected_version": current, "decision": "verified", "note": "ok"]
                ).status
            }
            #expect(try await decide(api.reporter, own) == 403)
            #expect(try await decide(api.analyst, own) == 403)
            #expect(try await decide(api.reviewer, own) == 201)
            #expect(try await decide(api.admin, secret) == 201)

            // Lists: everyone, filtered; the log: not reporters; admin routes: admins only.
            try await Self.listsLogAndAdminRoutesByRole(api, own: own, secret: secret)
            // Retracting: own for reporters, any for reviewers; analysts never.
            func retract(_ token: String, _ id: String) async throws -> Int {
                let current = try await api.call(.get, "/v1/incidents/\(id)", token: api.admin)["version"]!
                return try await api.call(.post, "/v1/incidents/\(id)/retraction", token: token, json: ["expected_version": current, "reason": "erroneous"]).status
            }
            #expect(try await retract(api.analyst, own) == 403)
            #expect(try await retract(api.otherReporter, own) == 404)
            #expect(try await retract(api.reporter, own) == 201)
            #expect(try await retract(api.reviewer, secret) == 201)
        }
    }

    /// Reading one incident: each role's answer for reporter A's incident and reporter B's confidential one.
    private static func readsOfOneIncidentByRole(_ api: API, own: String, secret: String) async throws {
        let reads: [(String, String, Int)] = [
            (api.reporter, own, 200), (api.reporter, secret, 404), (api.otherReporter, own, 404), (api.otherReporter, secret, 200),
            (api.reviewer, own, 200), (api.reviewer, secret, 200), (api.analyst, own, 200), (api.analyst, secret, 404),
            (api.admin, own, 200), (api.admin, secret, 200),
        ]
        for (token, id, status) in reads {
            #expect(try await api.call(.get, "/v1/incidents/\(id)", token: token).status == status)
        }
    }

    /// Lists: everyone, filtered; the log: not reporters; admin routes: admins only; reference data: everyone.
    private static func listsLogAndAdminRoutesByRole(_ api: API, own: String, secret: String) async throws {
        try await api.settle()
        for token in api.allTokens { #expect(try await api.call(.get, "/v1/incidents", token: token).status == 200) }
        let analystList = try await api.call(.get, "/v1/incidents?limit=500", token: api.analyst)
        #expect(analystList.json?.encodedString.contains(secret) == false, "analysts never list confidential incidents")
        let reporterList = try await api.call(.get, "/v1/incidents", token: api.reporter)
        #expect(reporterList["items"].flatMap { if case .array(let items) = $0 { items.count } else { nil } } == 1)
        #expect(try await api.call(.get, "/v1/events", token: api.reporter).status == 403)
        for token in [api.reviewer, api.analyst, api.admin] { #expect(try await api.call(.get, "/v1/events", token: token).status == 200) }
        for token in [api.reporter, api.reviewer, api.analyst] {
            #expect(try await api.call(.get, "/v1/admin/tokens", token: token).status == 403)
            #expect(try await api.call(.post, "/v1/admin/tokens", token: token, json: ["name": "x", "role": "admin"]).status == 403)
            #expect(try await api.call(.delete, "/v1/admin/tokens/reviewer", token: token).status == 403)
            #expect(try await api.call(.post, "/v1/incidents/\(own)/personal-data:erase", token: token, json: ["reason": "r"]).status == 403)
        }
        for token in api.allTokens {
            #expect(try await api.call(.get, "/v1/taxonomy", token: token).status == 200)
            #expect(try await api.call(.get, "/v1/regions", token: token).status == 200)
        }
    }

    @Test("personal data: sealed in the log, never logged, admins only, unreadable after erasure")
    func personalData() async throws {
        try await API.run { api in
            let name = "Vesna Petrović-Uniquename"
            let created = try await api.call(
                .post, "/v1/incidents", token: api.reporter,
                json: report(["personal": ["victims": [["name": .string(name), "age": 34, "phone": "+383 44 123 456"]]]]))
            let id = try #require(created["incident_id"]?.stringValue)

            let asAdmin = try await api.call(.get, "/v1/incidents/\(id)?include=personal", token: api.admin, headers: [.accessReason: "follow-up call to the victim"])
            #expect(asAdmin.json?.encodedString.contains(name) == true, "admins read personal data when they ask, with a reason")
            for token in [api.reporter, api.reviewer, api.analyst] {
                let reply = try await api.call(.get, "/v1/incidents/\(id)?history=true", token: token)
                #expect(reply.status == 200)
                #expect(reply.json?.encodedString.contains(name) == false)
                #expect(reply["incident"]?.objectValue?["personal"] == nil)
            }
            for token in [api.analyst, api.admin] {
                let log = try await api.call(.get, "/v1/events", token: token)
                #expect(log.json?.encodedString.contains(name) == false)
                #expect(log.json?.encodedString.contains("ciphertext") == false, "not even as ciphertext")
            }
            let stored: String = try await api.db.pool.withConnection {
                try $0.query("SELECT string_agg(data::text || metadata::text, ' ') FROM events").first!.decode(0)
            }
            #expect(!stored.contains(name) && !stored.contains("+383 44 123 456"), "the log holds ciphertext only")
            #expect(stored.contains("ciphertext"))

            let erased = try await api.call(.post, "/v1/incidents/\(id)/personal-data:erase", token: api.admin, json: ["reason": "request of the victim"])
            #expect(erased.status == 201)
            let after = try await api.call(.get, "/v1/incidents/\(id)?include=personal", token: api.admin, headers: [.accessReason: "check the erasure"])
            #expect(after["personal_data_erased"] == true)
            #expect(after["incident"]?.objectValue?["personal"] == .null)
            #expect(after.json?.encodedString.contains(name) == false)
            let keys: Int = try await api.db.pool.withConnection { try $0.query("SELECT count(*) FROM incident_keys WHERE purpose = 'personal'").first!.decode(0) }
            #expect(keys == 0, "the key is destroyed")
            #expect(try await api.call(.post, "/v1/incidents/\(id)/personal-data:erase", token: api.admin, json: ["reason": "again"]).status == 409)

            let logs = api.logs.text
            #expect(!logs.isEmpty)
            #expect(!logs.contains(name))
            for token in api.allTokens { #expect(!logs.contains(token), "tokens are never logged") }
        }
    }

    @Test("analysts never receive confidential incidents from the log")
    func confidentialLog() async throws {
        try await API.run { api in
            let secret = try #require(
                try await api.call(
                    .post, "/v1/incidents", token: api.reporter,
                    json: report(["category": "trafficking", "subcategory": "human_trafficking"]))["incident_id"]?.stringValue)
            let open = try #require(try await api.call(.post, "/v1/incidents", token: api.reporter, json: report())["incident_id"]?.stringValue)
            // An incident that becomes confidential later: its earlier events disappear too.
            #expect(
                try await api.call(
                    .post, "/v1/incidents/\(open)/amendments", token: api.reviewer,
                    json: ["expected_version": 1, "changes": ["sensitivity": "confidential"], "reason": "witness at risk"]
                ).status == 201)
            let visible = try #require(
                try await api.call(.post, "/v1/incidents", token: api.reporter, json: report(["sensitivity": "public"]))["incident_id"]?.stringValue)
            var text = ""
            for _ in 0..<100 {
                text = try await api.call(.get, "/v1/events", token: api.analyst).json?.encodedString ?? ""
                if text.contains(visible) { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            #expect(text.contains(visible))
            #expect(!text.contains(secret) && !text.contains(open))
            let adminText = try await api.call(.get, "/v1/events", token: api.admin).json?.encodedString ?? ""
            #expect(adminText.contains(secret))
        }
    }
}
