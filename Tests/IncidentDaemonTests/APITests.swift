import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import NIOCore
import IncidentStore
import IncidentTesting
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

            let amended = try await api.call(.post, "/v1/incidents/\(id)/amendments", token: api.reporter,
                                             json: ["expected_version": 1, "changes": ["municipality": "pec", "killed": 1], "reason": "police report"])
            #expect(amended.status == 201 && amended["stream_version"] == 2)
            let verified = try await api.call(.post, "/v1/incidents/\(id)/verification", token: api.reviewer,
                                              json: ["expected_version": 2, "decision": "verified", "note": "confirmed"])
            #expect(verified.status == 201)
            let rejected = try await api.call(.post, "/v1/incidents/\(id)/verification", token: api.reviewer,
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

            let retracted = try await api.call(.post, "/v1/incidents/\(id)/retraction", token: api.reporter,
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
            let stale = try await api.call(.post, "/v1/incidents/\(id)/amendments", token: api.reporter,
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
            let secret = try #require(try await api.call(.post, "/v1/incidents", token: api.otherReporter,
                                                          json: report(["category": "sexual_violence", "subcategory": "sexual_violence"]))["incident_id"]?.stringValue)
            #expect(try await api.call(.post, "/v1/incidents", token: api.reviewer, json: report()).status == 201)
            #expect(try await api.call(.post, "/v1/incidents", token: api.admin, json: report()).status == 201)
            #expect(try await api.call(.post, "/v1/incidents", token: api.analyst, json: report()).status == 403)

            // Reading one incident.
            let reads: [(String, String, Int)] = [
                (api.reporter, own, 200), (api.reporter, secret, 404), (api.otherReporter, own, 404), (api.otherReporter, secret, 200),
                (api.reviewer, own, 200), (api.reviewer, secret, 200), (api.analyst, own, 200), (api.analyst, secret, 404),
                (api.admin, own, 200), (api.admin, secret, 200),
            ]
            for (token, id, status) in reads {
                #expect(try await api.call(.get, "/v1/incidents/\(id)", token: token).status == status)
            }
            // A reporter cannot tell another's incident from one that does not exist.
            let missing = try await api.call(.get, "/v1/incidents/\(UUID().uuidString)", token: api.reporter)
            let hidden = try await api.call(.get, "/v1/incidents/\(secret)", token: api.reporter)
            #expect(missing.status == hidden.status && missing.json == hidden.json)

            // Amending: own or any for reviewers/admins; analysts never.
            func amend(_ token: String, _ id: String) async throws -> Int {
                let current = try await api.call(.get, "/v1/incidents/\(id)", token: api.admin)["version"]!
                return try await api.call(.post, "/v1/incidents/\(id)/amendments", token: token,
                                          json: ["expected_version": current, "changes": ["injured": .number(Double(Int.random(in: 1...1000)))], "reason": "r"]).status
            }
            #expect(try await amend(api.reporter, own) == 201)
            #expect(try await amend(api.otherReporter, own) == 404)
            #expect(try await amend(api.analyst, own) == 403)
            #expect(try await amend(api.reviewer, own) == 201)
            #expect(try await amend(api.admin, secret) == 201)

            // Deciding: reviewers and admins only.
            func decide(_ token: String, _ id: String) async throws -> Int {
                let current = try await api.call(.get, "/v1/incidents/\(id)", token: api.admin)["version"]!
                return try await api.call(.post, "/v1/incidents/\(id)/verification", token: token,
                                          json: ["expected_version": current, "decision": "verified", "note": "ok"]).status
            }
            #expect(try await decide(api.reporter, own) == 403)
            #expect(try await decide(api.analyst, own) == 403)
            #expect(try await decide(api.reviewer, own) == 201)
            #expect(try await decide(api.admin, secret) == 201)

            // Lists: everyone, filtered; the log: not reporters; admin routes: admins only.
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

    @Test("personal data: sealed in the log, never logged, admins only, unreadable after erasure")
    func personalData() async throws {
        try await API.run { api in
            let name = "Vesna Petrović-Uniquename"
            let created = try await api.call(.post, "/v1/incidents", token: api.reporter,
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
            let stored: String = try await api.db.pool.withConnection { try $0.query("SELECT string_agg(data::text || metadata::text, ' ') FROM events").first!.decode(0) }
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
            let secret = try #require(try await api.call(.post, "/v1/incidents", token: api.reporter,
                                                          json: report(["category": "trafficking", "subcategory": "human_trafficking"]))["incident_id"]?.stringValue)
            let open = try #require(try await api.call(.post, "/v1/incidents", token: api.reporter, json: report())["incident_id"]?.stringValue)
            // An incident that becomes confidential later: its earlier events disappear too.
            #expect(try await api.call(.post, "/v1/incidents/\(open)/amendments", token: api.reviewer,
                                       json: ["expected_version": 1, "changes": ["sensitivity": "confidential"], "reason": "witness at risk"]).status == 201)
            let visible = try #require(try await api.call(.post, "/v1/incidents", token: api.reporter, json: report(["sensitivity": "public"]))["incident_id"]?.stringValue)
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

func eventCount(_ db: TestDatabase) async throws -> Int {
    try await db.pool.withConnection { try $0.query("SELECT count(*) FROM events").first!.decode(0) }
}

@Suite("OpenAPI document")
struct OpenAPITests {
    @Test("the document names exactly the router's routes")
    func routesMatch() throws {
        let router = buildRouter(AppDependencies.forRouteListing())
        var routes = Set(router.routes.map { route -> String in
            let path = "\(route.path)".split(separator: "/").map { segment in
                segment.hasPrefix(":") ? "{\(segment.dropFirst())}" : String(segment)
            }.joined(separator: "/")
            return "\(route.method.rawValue) /" + path.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        })
        routes.insert("GET /metrics")  // added by buildApplication beside the registry
        let documented = Set((OpenAPI.document.objectValue?["paths"]?.objectValue ?? [:]).flatMap { path, item in
            (item.objectValue ?? [:]).keys.map { "\($0.uppercased()) \(path)" }
        })
        #expect(routes.subtracting(documented).isEmpty, "undocumented routes: \(routes.subtracting(documented).sorted())")
        #expect(documented.subtracting(routes).isEmpty, "documented but not routed: \(documented.subtracting(routes).sorted())")
    }

    @Test("the document is served without a token and is OpenAPI 3.1")
    func served() async throws {
        try await API.run { api in
            let reply = try await api.call(.get, "/v1/openapi.json", token: nil)
            #expect(reply.status == 200)
            #expect(reply["openapi"] == "3.1.0")
            #expect(reply.json == OpenAPI.document)
        }
    }
}

extension AppDependencies {
    /// Dependencies whose pool is never used: enough to build the router and list its routes.
    static func forRouteListing() -> AppDependencies {
        let pool = ConnectionPool(configuration: .init(conninfo: "host=/nonexistent"))
        let reference = ReferenceData(taxonomy: Taxonomy(categories: []), regions: RegionDirectory(districts: [], municipalities: []))
        return AppDependencies(pool: pool, service: IncidentService(pool: pool, reference: reference, keys: TestKeys.ring), tokens: AccessTokens(pool: pool), projections: [])
    }
}

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
            let rejected: [JSONValue] = reply["rejected"].flatMap { if case .array(let items) = $0 { items } else { nil } } ?? []
            #expect(rejected.map { $0.objectValue?["line"] } == [2, 3])
            #expect(rejected.first?.encodedString.contains("municipality") == true)
            #expect(rejected.last?.objectValue?["error"]?.objectValue?["code"] == "malformed_json")
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

@Suite("ictl import and tail -f (subprocesses)")
struct ImportAndTailTests {
    @Test("import NDJSON and CSV with a per-line report; running it again stores nothing twice; tail -f prints live events")
    func importAndTail() async throws {
        try await TestDatabase.with { db in
            let admin = try await AccessTokens(pool: db.pool).create(name: "ops", role: .admin)
            let port = Int.random(in: 40_001...60_000)
            let home = FileManager.default.temporaryDirectory.appendingPathComponent("ictl-import-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: home) }
            let env = ["ICTL_SERVER": "http://127.0.0.1:\(port)", "ICTL_TOKEN": admin, "HOME": home, "XDG_DATA_HOME": home + "/data", "XDG_CONFIG_HOME": home + "/config"]
            let daemon = try Daemon(conninfo: db.conninfo, port: port)
            defer { daemon.stop() }
            try await daemon.ready()

            // tail -f from the start, in the background, writing to a file.
            let tailOutput = home + "/tail.out"
            _ = FileManager.default.createFile(atPath: tailOutput, contents: nil)
            let tail = Process()
            tail.executableURL = URL(fileURLWithPath: Binaries.ictl)
            tail.arguments = ["tail", "-f", "--json"]
            tail.environment = ProcessInfo.processInfo.environment.merging(env) { _, new in new }
            tail.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: tailOutput))
            tail.standardError = FileHandle.nullDevice
            try tail.run()
            defer { tail.terminate() }

            let ndjson = home + "/reports.ndjson"
            try Data([
                report().encodedString,
                report(["summary": "Second report, same day."]).encodedString,
                report(["occurred_at": "2099-01-01"]).encodedString,
            ].joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: ndjson))
            let first = try await run(Binaries.ictl, ["import", ndjson], environment: env)
            #expect(first.status == 65, "one line is rejected: \(first.stderr)")
            #expect(first.stderr.contains("line 3"))
            #expect(first.stderr.contains("2 stored"))
            let second = try await run(Binaries.ictl, ["import", ndjson], environment: env)
            #expect(second.stderr.contains("0 stored, 2 already stored"), "\(second.stderr)")

            let csv = home + "/reports.csv"
            try Data("""
                category,subcategory,occurred_at,municipality,summary,source_type,killed,tags
                unrest,peaceful_protest,2026-11-20,Prishtina,"Protest in front of the assembly, peaceful",media,0,protest;assembly
                explosives,grenade,2026-11-21,Gjilan,Grenade thrown into a yard,police,1,
                """.utf8).write(to: URL(fileURLWithPath: csv))
            let csvRun = try await run(Binaries.ictl, ["import", csv], environment: env)
            #expect(csvRun.status == 0, "\(csvRun.stderr)")
            #expect(csvRun.stderr.contains("2 stored"))
            #expect(try await eventCount(db) == 4)

            var printed = ""
            for _ in 0..<100 {
                printed = (try? String(contentsOfFile: tailOutput, encoding: .utf8)) ?? ""
                if printed.split(separator: "\n").count >= 4 { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            let lines = printed.split(separator: "\n")
            #expect(lines.count == 4, "tail -f printed every event once: \(printed)")
            #expect(lines.allSatisfy { $0.contains("IncidentReported") })
        }
    }
}

@Suite("Operations")
struct OperationsTests {
    @Test("/metrics shows request counts, latencies and appends in Prometheus text")
    func metrics() async throws {
        try await API.run { api in
            #expect(try await api.call(.post, "/v1/incidents", token: api.reporter, json: report()).status == 201)
            let response = try await api.client.execute(uri: "/metrics", method: .get, headers: [:], body: nil)
            #expect(response.status == .ok)
            let text = String(buffer: response.body)
            #expect(text.contains("incident_appends_total"))
            #expect(text.contains("hb_requests"))
            #expect(text.contains("http_server_request_duration"))
        }
    }

    @Test("with the database out of reach, requests get 503 with Retry-After and readyz says so")
    func databaseDown() async throws {
        // A pool aimed at a socket directory where no server listens: every query fails to connect.
        let pool = ConnectionPool(configuration: .init(conninfo: "host=/nonexistent-incident-test port=1 connect_timeout=1", maxConnections: 2))
        let reference = try await Seeds.reference()
        let logger = Logger(label: "test")
        let deps = AppDependencies(pool: pool, service: IncidentService(pool: pool, reference: reference, keys: TestKeys.ring), tokens: AccessTokens(pool: pool), projections: [])
        let app = Application(router: buildRouter(deps), configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        try await app.test(.live) { client in
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .serviceUnavailable)
            #expect(ready.headers[.retryAfter] != nil)
            let write = try await client.execute(uri: "/v1/incidents", method: .post, headers: [.authorization: "Bearer il_anything"], body: ByteBuffer(bytes: report().encoded()))
            #expect(write.status == .serviceUnavailable)
            #expect(write.headers[.retryAfter] == "5")
            #expect(String(buffer: write.body).contains("database_unavailable"))
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok, "the process itself is up")
        }
        await pool.close()
    }
}

enum Seeds {
    /// Taxonomy and regions from a real migrated database.
    static func reference() async throws -> ReferenceData {
        try await TestDatabase.with { db in try await ReferenceData.load(db.pool) }
    }
}

@Suite("Review findings stay fixed")
struct ReviewFindingsTests {
    @Test("a retried amendment replays; other content under its key is 409; a caller who cannot see the incident gets 404")
    func amendmentIdempotency() async throws {
        try await API.run { api in
            let id = try #require(try await api.call(.post, "/v1/incidents", token: api.reporter, json: report())["incident_id"]?.stringValue)
            let key = UUID().uuidString
            let body: JSONValue = ["expected_version": 1, "changes": ["killed": 1], "reason": "police report"]
            let first = try await api.call(.post, "/v1/incidents/\(id)/amendments", token: api.reporter, json: body, headers: [.idempotencyKey: key])
            let retry = try await api.call(.post, "/v1/incidents/\(id)/amendments", token: api.reporter, json: body, headers: [.idempotencyKey: key])
            #expect(first.status == 201 && retry.status == 200 && first.json == retry.json)
            let other = try await api.call(.post, "/v1/incidents/\(id)/amendments", token: api.reporter,
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
            let amend = try await api.call(.post, "/v1/incidents/\(id)/amendments", token: api.admin,
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
