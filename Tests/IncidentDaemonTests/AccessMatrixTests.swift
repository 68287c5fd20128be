import Foundation
import HTTPTypes
import IncidentStore
import IncidentTesting
import Testing

@testable import IncidentDaemon

/// Every operation of the API against every role and every kind of bad credential.
@Suite("Access: the full role × endpoint matrix")
struct AccessMatrixTests {
    /// One operation as the matrix calls it, and what each caller must get.
    struct Operation {
        var method: HTTPRequest.Method
        var path: String
        var body: JSONValue? = nil
        var raw: (Data, String)? = nil
        var headers: HTTPFields = [:]
        /// reporter A (owns {own}), reporter B (owns the confidential {secret}), reviewer, analyst, admin.
        var expected: [Int]
        /// The documented route this exercises, as the OpenAPI document spells it.
        var route: String
    }

    @Test("each role gets exactly its permissions from every endpoint; missing, malformed, unknown, revoked and expired tokens get 401 from all")
    func matrix() async throws {
        // Hundreds of bad credentials from one address: the failed-authentication limit (LimitsTests) would refuse them.
        try await API.run(authFailures: AuthFailureLimiter(limit: 1_000_000)) { api in
            var matrix = try await Matrix.arrange(api)
            let operations = matrix.operations
            let open = Matrix.open

            // The matrix covers every documented operation.
            let documented = Set(
                (OpenAPI.document.objectValue?["paths"]?.objectValue ?? [:]).flatMap { path, item in
                    (item.objectValue ?? [:]).keys.map { "\($0.uppercased()) \(path)" }
                })
            #expect(documented == Set(operations.map(\.route) + open), "not in the matrix: \(documented.subtracting(operations.map(\.route) + open).sorted())")

            // Roles: each cell as expected.
            let eventsBefore = try await eventCount(api.db)
            let cells = try await matrix.eachRoleGetsItsCell()

            // Writes that were let through stored exactly what the matrix expects: a report and a
            // batch line per allowed role (4 + 4) and one erasure; the stale writes stored nothing.
            #expect(try await eventCount(api.db) == eventsBefore + 9)

            let (refusals, badKinds, badTokens) = try await matrix.badCredentialsGet401()
            try await matrix.metricsTokenIsRefusedAndOpenRoutesNeedNone()
            try await matrix.reporterCannotTellHiddenFromAbsent()
            try await matrix.analystsSeeNothingConfidential()

            // No token, good or bad, reached the logs.
            let logs = api.logs.text
            for token in api.allTokens + badTokens { #expect(!logs.contains(token), "a token was logged") }
            #expect(!logs.contains(Matrix.name) && !logs.contains("Someone Else"), "personal data was logged")
            print("access figures: \(cells) role cells, \(refusals) bad-credential requests (\(badKinds) kinds × \(operations.count) operations)")
        }
    }

    /// The matrix's incidents and operations, and a step for each kind of caller.
    private struct Matrix {
        static let name = "Drita Uniquename-Access"
        static let stale: JSONValue = 999
        static let open = ["GET /healthz", "GET /readyz", "GET /metrics", "GET /v1/openapi.json"]
        let api: API
        /// Reporter A's incident with personal data; reporter B's confidential one.
        let own: String
        let secret: String
        let operations: [Operation]
        var tokenNumber = 0

        /// Reports the incidents the operations act on, and lists the operations.
        static func arrange(_ api: API) async throws -> Matrix {
            let name = Self.name
            let own = try #require(
                try await api.call(
                    .post, "/v1/incidents", token: api.reporter,
                    json: report(["personal": ["victims": [["name": .string(name)]]]]))["incident_id"]?.stringValue)
            let secret = try #require(
                try await api.call(
                    .post, "/v1/incidents", token: api.otherReporter,
                    json: report(["category": "sexual_violence", "subcategory": "sexual_violence"]))["incident_id"]?.stringValue)
            let erasable = try #require(
                try await api.call(
                    .post, "/v1/incidents", token: api.reporter,
                    json: report(["personal": ["victims": [["name": "Someone Else"]]]]))["incident_id"]?.stringValue)
            try await api.settle()
            let stale = Self.stale
            let outboxKey = try await api.outboxKey()
            let sealedStale = try sealed("/v1/incidents/\(own)/amendments", ["expected_version": stale, "changes": ["injured": 3], "reason": "r"], to: outboxKey)
            let line = Data((report().encodedString + "\n").utf8)
            // A pull subscription the analyst's token consumes.
            let pull = try await api.call(
                .post, "/v1/admin/subscriptions", token: api.admin, json: ["name": "matrix-pull", "target": ["kind": "pull"], "consumers": ["analyst"]])
            let checkpoint = try #require(pull["checkpoint"]?.stringValue)
            let operations = Self.operations(own: own, secret: secret, erasable: erasable, sealedStale: sealedStale, line: line, checkpoint: checkpoint)
            return Matrix(api: api, own: own, secret: secret, operations: operations)
        }

        /// Every operation of the API, with what each role must get from it.
        static func operations(own: String, secret: String, erasable: String, sealedStale: Data, line: Data, checkpoint: String) -> [Operation] {
            let stale = Self.stale
            return [
                .init(method: .get, path: "/v1/taxonomy", expected: [200, 200, 200, 200, 200], route: "GET /v1/taxonomy"),
                .init(method: .get, path: "/v1/regions", expected: [200, 200, 200, 200, 200], route: "GET /v1/regions"),
                .init(method: .post, path: "/v1/incidents", body: report(), expected: [201, 201, 201, 403, 201], route: "POST /v1/incidents"),
                .init(
                    method: .post, path: "/v1/incidents:batch", raw: (line, "application/x-ndjson"), expected: [200, 200, 200, 403, 200],
                    route: "POST /v1/incidents:batch"),
                .init(method: .get, path: "/v1/incidents", expected: [200, 200, 200, 200, 200], route: "GET /v1/incidents"),
                .init(method: .get, path: "/v1/incidents/\(own)", expected: [200, 404, 200, 200, 200], route: "GET /v1/incidents/{id}"),
                .init(method: .get, path: "/v1/incidents/\(secret)?history=true", expected: [404, 200, 200, 404, 200], route: "GET /v1/incidents/{id}"),
                // Personal data: admins only, even for the incident's own reporter.
                .init(
                    method: .get, path: "/v1/incidents/\(own)?include=personal", headers: [.accessReason: "follow up with the victim"],
                    expected: [403, 403, 403, 403, 200], route: "GET /v1/incidents/{id}"),
                // Writes with a stale version: an allowed caller gets the conflict, nothing is written.
                .init(
                    method: .post, path: "/v1/incidents/\(own)/amendments", body: ["expected_version": stale, "changes": ["injured": 3], "reason": "r"],
                    expected: [409, 404, 409, 403, 409], route: "POST /v1/incidents/{id}/amendments"),
                .init(
                    method: .post, path: "/v1/incidents/\(secret)/amendments", body: ["expected_version": stale, "changes": ["injured": 3], "reason": "r"],
                    expected: [404, 409, 409, 403, 409], route: "POST /v1/incidents/{id}/amendments"),
                .init(
                    method: .post, path: "/v1/incidents/\(own)/verification", body: ["expected_version": stale, "decision": "verified", "note": "n"],
                    expected: [403, 403, 409, 403, 409], route: "POST /v1/incidents/{id}/verification"),
                .init(
                    method: .post, path: "/v1/incidents/\(own)/retraction", body: ["expected_version": stale, "reason": "erroneous"],
                    expected: [409, 404, 409, 403, 409], route: "POST /v1/incidents/{id}/retraction"),
                .init(
                    method: .post, path: "/v1/incidents/\(erasable)/personal-data:erase", body: ["reason": "request of the victim"],
                    expected: [403, 403, 403, 403, 201], route: "POST /v1/incidents/{id}/personal-data:erase"),
                // Of an incident that does not exist: an admin gets the 404, nothing is redacted.
                .init(
                    method: .post, path: "/v1/incidents/\(UUID().uuidString.lowercased())/narrative:redact", body: ["reason": "names a witness"],
                    expected: [403, 403, 403, 403, 404], route: "POST /v1/incidents/{id}/narrative:redact"),
                .init(method: .get, path: "/v1/events", expected: [403, 403, 200, 200, 200], route: "GET /v1/events"),
                // The stream's allowed callers get an endless answer: StreamRoleTests follows it with curl.
                .init(method: .get, path: "/v1/events/stream", expected: [403, 403, -1, -1, -1], route: "GET /v1/events/stream"),
                .init(method: .get, path: "/v1/summaries", expected: [403, 403, 200, 200, 200], route: "GET /v1/summaries"),
                .init(method: .get, path: "/v1/digests/weekly?week=last", expected: [403, 403, 200, 200, 200], route: "GET /v1/digests/weekly"),
                .init(method: .get, path: "/v1/admin/tokens", expected: [403, 403, 403, 403, 200], route: "GET /v1/admin/tokens"),
                .init(method: .post, path: "/v1/admin/tokens", body: ["role": "reporter"], expected: [403, 403, 403, 403, 201], route: "POST /v1/admin/tokens"),
                .init(method: .delete, path: "/v1/admin/tokens/nobody-here", expected: [403, 403, 403, 403, 404], route: "DELETE /v1/admin/tokens/{name}"),
                .init(method: .get, path: "/v1/outbox-key", expected: [200, 200, 200, 200, 200], route: "GET /v1/outbox-key"),
                // A stale amendment sealed as ictl's outbox keeps it: the answers of the amendment itself.
                .init(
                    method: .post, path: "/v1/outbox:deliver", raw: (sealedStale, "application/json"), expected: [409, 404, 409, 403, 409],
                    route: "POST /v1/outbox:deliver"),
                .init(method: .get, path: "/v1/admin/projections", expected: [403, 403, 403, 403, 200], route: "GET /v1/admin/projections"),
                .init(method: .get, path: "/v1/admin/audit", expected: [403, 403, 403, 403, 200], route: "GET /v1/admin/audit"),
                .init(
                    method: .post, path: "/v1/admin/projections/region_summary:rebuild", expected: [403, 403, 403, 403, 202],
                    route: "POST /v1/admin/projections/{name}:rebuild"),
            ] + subscriptionOperations(checkpoint: checkpoint)
        }

        /// The subscription routes, on the pull subscription `matrix-pull` the analyst's token consumes.
        static func subscriptionOperations(checkpoint: String) -> [Operation] {
            [
                .init(
                    method: .post, path: "/v1/admin/subscriptions", body: ["target": ["kind": "pull"]], expected: [403, 403, 403, 403, 201],
                    route: "POST /v1/admin/subscriptions"),
                .init(method: .get, path: "/v1/admin/subscriptions", expected: [403, 403, 403, 403, 200], route: "GET /v1/admin/subscriptions"),
                .init(
                    method: .get, path: "/v1/admin/subscriptions/matrix-pull", expected: [403, 403, 403, 403, 200], route: "GET /v1/admin/subscriptions/{name}"),
                .init(
                    method: .delete, path: "/v1/admin/subscriptions/nobody-here", expected: [403, 403, 403, 403, 404],
                    route: "DELETE /v1/admin/subscriptions/{name}"),
                .init(
                    method: .post, path: "/v1/admin/subscriptions/matrix-pull:pause", expected: [403, 403, 403, 403, 200],
                    route: "POST /v1/admin/subscriptions/{name}:pause"),
                .init(
                    method: .post, path: "/v1/admin/subscriptions/matrix-pull:resume", expected: [403, 403, 403, 403, 200],
                    route: "POST /v1/admin/subscriptions/{name}:resume"),
                .init(
                    method: .get, path: "/v1/admin/subscriptions/matrix-pull/dead-letters", expected: [403, 403, 403, 403, 200],
                    route: "GET /v1/admin/subscriptions/{name}/dead-letters"),
                .init(
                    method: .post, path: "/v1/admin/subscriptions/matrix-pull/dead-letters/\(UUID().uuidString.lowercased()):retry",
                    expected: [403, 403, 403, 403, 404], route: "POST /v1/admin/subscriptions/{name}/dead-letters/{event_id}:retry"),
                // Only the tokens a pull subscription names as its consumers read it, admins included.
                .init(
                    method: .get, path: "/v1/subscriptions/matrix-pull/events", expected: [403, 403, 403, 200, 403], route: "GET /v1/subscriptions/{name}/events"),
                .init(
                    method: .post, path: "/v1/subscriptions/matrix-pull/ack", body: ["checkpoint": .string(checkpoint)], expected: [403, 403, 403, 200, 403],
                    route: "POST /v1/subscriptions/{name}/ack"),
            ]
        }

        mutating func call(_ operation: Operation, token: String?, headers: HTTPFields = [:]) async throws -> API.Reply {
            var body = operation.body
            if operation.route == "POST /v1/admin/tokens" {
                tokenNumber += 1
                body = ["name": .string("matrix-\(tokenNumber)"), "role": "reporter"]
            }
            if operation.route == "POST /v1/admin/subscriptions" {
                tokenNumber += 1
                body = ["name": .string("matrix-\(tokenNumber)"), "target": ["kind": "pull"]]
            }
            var headers = headers
            headers.append(contentsOf: operation.headers)
            if let (_, type) = operation.raw { headers[.contentType] = type }
            return try await api.call(operation.method, operation.path, token: token, json: body, raw: operation.raw?.0, headers: headers)
        }

        /// Every role against every operation; returns the number of cells.
        mutating func eachRoleGetsItsCell() async throws -> Int {
            var cells = 0
            let roles = [api.reporter, api.otherReporter, api.reviewer, api.analyst, api.admin]
            let names = ["reporter A", "reporter B", "reviewer", "analyst", "admin"]
            for operation in operations {
                for (index, token) in roles.enumerated() where operation.expected[index] > 0 {
                    let reply = try await call(operation, token: token)
                    #expect(
                        reply.status == operation.expected[index],
                        "\(names[index]): \(operation.method) \(operation.path) answered \(reply.status) \(reply.json?.encodedString ?? "")")
                    cells += 1
                }
            }
            return cells
        }

        /// Bad credentials: 401 from every operation, the same answer for every presented bad token.
        /// Returns the number of refusals, of kinds of bad credential, and the tokens among them.
        mutating func badCredentialsGet401() async throws -> (refusals: Int, kinds: Int, tokens: [String]) {
            // Bad credentials: 401 from every operation. A token that was presented gets the same
            // answer whatever was wrong with it: nobody learns whether a token exists, was revoked
            // or has expired. (No token at all is told how to give one.)
            let revoked = try await AccessTokens(pool: api.db.pool).create(name: "revoked-one", role: .admin)
            try await AccessTokens(pool: api.db.pool).revoke(name: "revoked-one")
            let expired = try await AccessTokens(pool: api.db.pool).create(name: "expired-one", role: .admin, expiresAt: Date().addingTimeInterval(-1))
            let bad: [(String, HTTPFields)] = [
                ("missing", [:]),
                ("empty bearer", [.authorization: "Bearer "]),
                ("malformed", [.authorization: "Bearer il_" + String(repeating: "x", count: 300)]),
                ("not bearer", [.authorization: "Basic YWRtaW46YWRtaW4="]),
                ("bearer with a quote", [.authorization: "Bearer ' OR 1=1 --"]),
                ("unknown", [.authorization: "Bearer il_" + UUID().uuidString]),
                ("revoked", [.authorization: "Bearer " + revoked]),
                ("expired", [.authorization: "Bearer " + expired]),
            ]
            var refusals = 0
            for operation in operations {
                var answers: Set<String> = []
                for (what, headers) in bad {
                    let reply = try await call(operation, token: nil, headers: headers)
                    #expect(reply.status == 401 && reply.errorCode == "unauthorized", "\(what): \(operation.method) \(operation.path) answered \(reply.status)")
                    if headers[.authorization]?.hasPrefix("Bearer ") == true && headers[.authorization]! != "Bearer " {
                        answers.insert(reply.json?.encodedString ?? "")
                    }
                    refusals += 1
                }
                #expect(answers.count == 1, "one answer for every presented bad token: \(answers)")
            }
            return (refusals, bad.count, [revoked, expired])
        }

        /// A metrics token reads /metrics only: every operation refuses it; the open routes need no token.
        mutating func metricsTokenIsRefusedAndOpenRoutesNeedNone() async throws {
            let open = Self.open
            let metrics = try await AccessTokens(pool: api.db.pool).create(name: "scraper", role: .metrics)
            for operation in operations {
                let reply = try await call(operation, token: metrics)
                #expect(reply.status == 403, "metrics token: \(operation.method) \(operation.path) answered \(reply.status)")
            }
            for route in open {
                let path = String(route.split(separator: " ")[1])
                #expect(try await api.call(.get, path, token: nil).status == 200, "\(route) needs no token")
            }
        }

        /// A reporter cannot tell another's incident from none, whatever it tries.
        func reporterCannotTellHiddenFromAbsent() async throws {
            let missing = UUID().uuidString.lowercased()
            for (method, suffix, body) in [
                (HTTPRequest.Method.get, "", JSONValue?.none),
                (.post, "/amendments", ["expected_version": 1, "changes": ["injured": 3], "reason": "r"]),
                (.post, "/retraction", ["expected_version": 1, "reason": "erroneous"]),
            ] {
                let hidden = try await api.call(method, "/v1/incidents/\(secret)" + suffix, token: api.reporter, json: body)
                let absent = try await api.call(method, "/v1/incidents/\(missing)" + suffix, token: api.reporter, json: body)
                #expect(hidden.status == 404 && hidden.status == absent.status)
                #expect(
                    hidden.json?.encodedString.replacingOccurrences(of: secret, with: "ID") == absent.json?.encodedString.replacingOccurrences(of: missing, with: "ID"))
            }
        }

        /// Analysts: no confidential incident and no personal data from any endpoint they may read.
        func analystsSeeNothingConfidential() async throws {
            let name = Self.name
            try await api.settle()
            for operation in operations where operation.method == .get && operation.expected[3] == 200 {
                for path in [operation.path, operation.path.contains("?") ? operation.path : operation.path + "?limit=500"] {
                    let text = try await api.call(.get, path, token: api.analyst).json?.encodedString ?? ""
                    #expect(!text.contains(secret), "analyst: \(path) names the confidential incident")
                    #expect(!text.contains(name) && !text.contains("Someone Else"), "analyst: \(path) shows personal data")
                    #expect(!text.contains("ciphertext") && !text.contains("\"personal\":{"), "analyst: \(path) carries sealed personal data")
                    #expect(!text.contains("reporter-a") && !text.contains("reporter-b"), "analyst: \(path) names a reporter")
                }
            }
        }
    }
}
