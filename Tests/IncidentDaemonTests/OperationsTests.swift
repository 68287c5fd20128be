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
        let deps = AppDependencies(
            pool: pool, service: IncidentService(pool: pool, reference: reference, keys: TestKeys.ring), tokens: AccessTokens(pool: pool), projections: [],
            subscriptions: Subscriptions(pool: pool, keys: TestKeys.ring, reference: reference))
        let app = Application(router: buildRouter(deps), configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: logger)
        try await app.test(.live) { client in
            let ready = try await client.execute(uri: "/readyz", method: .get)
            #expect(ready.status == .serviceUnavailable)
            #expect(ready.headers[.retryAfter] != nil)
            let write = try await client.execute(
                uri: "/v1/incidents", method: .post, headers: [.authorization: "Bearer il_anything"], body: ByteBuffer(bytes: report().encoded()))
            #expect(write.status == .serviceUnavailable)
            #expect(write.headers[.retryAfter] == "5")
            #expect(String(buffer: write.body).contains("database_unavailable"))
            #expect(try await client.execute(uri: "/healthz", method: .get).status == .ok, "the process itself is up")
        }
        await pool.close()
    }
}
