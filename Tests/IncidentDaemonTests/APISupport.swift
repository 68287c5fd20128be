import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IncidentStore
import IncidentTesting
import Logging
import Metrics
import PostgresLibpq
import Prometheus
import Synchronization
import Testing

@testable import IncidentDaemon

/// Every log line the daemon wrote during a test, metadata included.
final class LogCapture: Sendable {
    let lines = Mutex<[String]>([])

    struct Handler: LogHandler {
        let capture: LogCapture
        var logLevel: Logger.Level = .trace
        var metadata: Logger.Metadata = [:]
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) {
            let all = metadata.merging(event.metadata ?? [:], uniquingKeysWith: { _, new in new })
            capture.lines.withLock { $0.append("\(event.level) \(event.message) \(all)") }
        }
    }

    var text: String { lines.withLock { $0.joined(separator: "\n") } }
}

/// A live incidentd on loopback over a fresh database, with a token for each role.
struct API {
    let client: any TestClientProtocol
    let db: TestDatabase
    let logs: LogCapture
    /// Two reporters (to test "own incidents only"), a reviewer, an analyst, an admin.
    let reporter: String, otherReporter: String, reviewer: String, analyst: String, admin: String

    var allTokens: [String] { [reporter, otherReporter, reviewer, analyst, admin] }

    struct Reply {
        var status: Int
        var json: JSONValue?
        var headers: HTTPFields

        subscript(key: String) -> JSONValue? { json?.objectValue?[key] }
        var errorCode: String? { json?.objectValue?["error"]?.objectValue?["code"]?.stringValue }
    }

    /// One request; every answer must be JSON-shaped and never a 5xx (except 503 when asked).
    @discardableResult
    func call(
        _ method: HTTPRequest.Method, _ path: String, token: String?, json: JSONValue? = nil, raw: Data? = nil,
        headers: HTTPFields = [:], allow503: Bool = false, sourceLocation: SourceLocation = #_sourceLocation
    ) async throws -> Reply {
        var headers = headers
        if let token { headers[.authorization] = "Bearer " + token }
        var body: ByteBuffer?
        if let json { body = ByteBuffer(bytes: json.encoded()); headers[.contentType] = "application/json" }
        if let raw { body = ByteBuffer(bytes: raw) }
        let response = try await client.execute(uri: path, method: method, headers: headers, body: body)
        let status = Int(response.status.code)
        #expect(status < 500 || (allow503 && status == 503), "\(method) \(path) answered \(status): \(String(buffer: response.body))", sourceLocation: sourceLocation)
        let parsed = try? JSONValue.parse(Data(response.body.readableBytesView))
        // Every answer any API test receives must be what the OpenAPI document says.
        let problems = OpenAPICheck.problems(method: method, path: path, status: status, body: parsed, contentType: response.headers[.contentType])
        #expect(problems.isEmpty, "\(problems.joined(separator: "; "))", sourceLocation: sourceLocation)
        return Reply(status: status, json: parsed, headers: response.headers)
    }

    /// Waits until the projector has applied everything written so far, to every read model.
    func settle() async throws {
        try await IncidentDaemonTests.settle(db.pool)
    }

    static func run(
        tokenCache: TokenCache = TokenCache(), bodyStall: Duration = .seconds(20), statementTimeout: Duration? = .seconds(10),
        authFailures: AuthFailureLimiter = AuthFailureLimiter(), host: String = "127.0.0.1", webhooks: WebhookSettings = WebhookSettings(),
        _ body: @escaping @Sendable (API) async throws -> Void
    ) async throws {
        try await TestDatabase.with { db in
            let tokens = AccessTokens(pool: db.pool)
            let names = ["reporter-a": Role.reporter, "reporter-b": .reporter, "reviewer": .reviewer, "analyst": .analyst, "admin": .admin]
            var secrets: [String: String] = [:]
            for (name, role) in names { secrets[name] = try await tokens.create(name: name, role: role) }
            let tokenSecrets = secrets
            // As `serve` does at start: the outbox key pair, made by the owner.
            _ = try await db.pool.withConnection { try $0.transaction { try OutboxKeys(ring: TestKeys.ring).ensureCurrent(on: $0) } }
            let pool = ConnectionPool(configuration: .init(conninfo: db.conninfo, maxConnections: 4, setupStatements: ["SET ROLE incident_app"]))
            let logs = LogCapture()
            let logger = Logger(label: "incidentd-test") { _ in LogCapture.Handler(capture: logs) }
            let app = try await buildApplication(
                pool: pool, keys: TestKeys.ring, host: host, port: 0, registry: TestMetrics.registry, logger: logger, tokenCache: tokenCache, bodyStall: bodyStall,
                statementTimeout: statementTimeout, authFailures: authFailures, webhooks: webhooks,
                // The test client keeps one connection, idle while a test seeds its world (over a
                // minute on a loaded machine); the daemon's 60 s would close it under the test.
                idleTimeout: .seconds(900))
            do {
                try await app.test(.live) { client in
                    try await body(
                        API(
                            client: client, db: db, logs: logs, reporter: tokenSecrets["reporter-a"]!, otherReporter: tokenSecrets["reporter-b"]!,
                            reviewer: tokenSecrets["reviewer"]!, analyst: tokenSecrets["analyst"]!, admin: tokenSecrets["admin"]!
                        ))
                }
            } catch {
                await pool.close()
                throw error
            }
            await pool.close()
        }
    }
}

/// A valid report body, with one field set or removed per test.
func report(_ changes: [String: JSONValue?] = [:]) -> JSONValue {
    var body: [String: JSONValue] = [
        "category": "ethnic_violence", "subcategory": "assault", "occurred_at": "2026-11-20",
        "municipality": "Zubin Potok", "summary": "Two men assaulted a returnee near the bridge.", "source_type": "witness",
    ]
    for (key, value) in changes { body[key] = value }
    return .object(body)
}

/// swift-metrics is bootstrapped once per process: one registry for every test's /metrics.
enum TestMetrics {
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()
}
