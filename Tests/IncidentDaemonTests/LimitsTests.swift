import Foundation
import HTTPTypes
import HummingbirdTesting
import IncidentStore
import IncidentTesting
import Logging
import PostgresLibpq
import Testing

@testable import IncidentDaemon

@Suite("Authentication and limits (docs/operations.md, Limits)")
struct LimitsTests {
    @Test("after 20 failed authentications in a minute an address gets 429 with Retry-After; another address is served")
    func failedAuthentications() async throws {
        try await API.run { api in
            let port = try #require(api.client.port)
            for attempt in 1...20 {
                let reply = try await api.call(.get, "/v1/taxonomy", token: "il_guess\(attempt)")
                #expect(reply.status == 401, "failure \(attempt) is still a 401")
            }
            // The 21st request from this address is refused, even with a valid token.
            let refused = try await api.call(.get, "/v1/taxonomy", token: api.admin)
            #expect(refused.status == 429 && refused.errorCode == "too_many_requests")
            let retryAfter = Int(refused.headers[.retryAfter] ?? "")
            #expect(retryAfter.map { (1...60).contains($0) } == true, "Retry-After: \(refused.headers[.retryAfter] ?? "none")")
            #expect(try await api.call(.get, "/v1/taxonomy", token: nil).status == 429, "every request from the address, token or not")

            // Another address of this machine is not limited: its valid token works.
            let other = try await curl("http://127.0.0.1:\(port)/v1/taxonomy", token: api.analyst, from: "127.0.0.2")
            #expect(other.status == 200, "\(other.body)")
            // (That a refused address is not looked up at all: LimitsCLITests.serveFlags, on a cluster of its own.)
        }
    }

    @Test("a stream whose token is revoked, or expires, ends within 5 s")
    func streamRecheck() async throws {
        try await API.run { api in
            let port = try #require(api.client.port)
            let tokens = AccessTokens(pool: api.db.pool)
            let watcher = try await tokens.create(name: "watcher", role: .analyst)
            let expiring = try await tokens.create(name: "expiring", role: .reviewer, expiresAt: Date().addingTimeInterval(8))
            let revokedStream = try StreamFollower(port: port, token: watcher)
            let expiringStream = try StreamFollower(port: port, token: expiring)
            defer {
                revokedStream.stop()
                expiringStream.stop()
            }
            let revokedOpened = try await revokedStream.opened()
            let expiringOpened = try await expiringStream.opened()
            #expect(revokedOpened && expiringOpened)
            #expect(try await api.call(.delete, "/v1/admin/tokens/watcher", token: api.admin).status == 200)
            // curl's own limit is 30 s: a stream that goes on is still running after 10 (or, for
            // the token that expires 8 s after it was made, after 20: its stream must open first,
            // on a machine that may be busy).
            #expect(try await revokedStream.ended(within: .seconds(10)) == 0, "the revoked token's stream ended (the server closed it)")
            #expect(try await expiringStream.ended(within: .seconds(20)) == 0, "the expired token's stream ended")
        }
    }

    @Test("a token has at most four open streams; the fifth gets 429")
    func streamsPerToken() async throws {
        try await API.run { api in
            let port = try #require(api.client.port)
            var streams: [StreamFollower] = []
            defer { for stream in streams { stream.stop() } }
            for _ in 0..<4 { streams.append(try StreamFollower(port: port, token: api.analyst)) }
            for stream in streams { #expect(try await stream.opened()) }
            let fifth = try await curl("http://127.0.0.1:\(port)/v1/events/stream", token: api.analyst, maxTime: 5)
            #expect(fifth.status == 429 && fifth.body.contains("too_many_requests"), "\(fifth.status) \(fifth.body)")
            // Another token's stream is not counted against this one.
            let other = try StreamFollower(port: port, token: api.reviewer)
            streams.append(other)
            #expect(try await other.opened())
            // A stream that its client closes gives its slot back.
            streams[0].stop()
            let closedAt = ContinuousClock.now
            var again = (status: 0, body: "")
            while ContinuousClock.now - closedAt < .seconds(20) {
                again = try await curl("http://127.0.0.1:\(port)/v1/events/stream", token: api.analyst, maxTime: 2)
                if again.status == 200 { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(again.status == 200, "a slot came free after a client left: \(again.status)")
            print("limits figures: a closed stream's slot came free after \(ContinuousClock.now - closedAt)")
        }
    }

    @Test("q is at most 200 characters")
    func longSearch() async throws {
        try await API.run { api in
            let long = try await api.call(.get, "/v1/incidents?q=" + String(repeating: "a", count: 201), token: api.analyst)
            #expect(long.status == 400 && long.errorCode == "bad_filter")
            #expect(long.json?.encodedString.contains("\"field\":\"q\"") == true)
            #expect(try await api.call(.get, "/v1/incidents?q=" + String(repeating: "a", count: 200), token: api.analyst).status == 200)
        }
    }

    @Test("at most two batch imports run at once; a third gets 429 with Retry-After")
    func concurrentBatches() async throws {
        // The batches wait for the lock as long as the test takes to see them waiting, which on a
        // loaded machine has outlasted the API's 10 s statement timeout.
        try await API.run(statementTimeout: .seconds(120)) { api in
            // Inserts into the log wait for this lock: the two batches stay running.
            let holder = try await LockHolder.take("LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE", conninfo: api.db.conninfo)
            let port = try #require(api.client.port)
            @Sendable func line(_ summary: String) -> Data { Data((report(["summary": .string(summary)]).encodedString + "\n").utf8) }
            @Sendable func batch(_ summary: String) async throws -> API.Reply {
                try await api.call(.post, "/v1/incidents:batch", token: api.reporter, raw: line(summary), headers: [.contentType: "application/x-ndjson"])
            }
            // Each on a connection of its own, so that they run at once.
            let url = "http://127.0.0.1:\(port)/v1/incidents:batch"
            let (firstLine, secondLine) = (line("First batch."), line("Second batch."))
            async let first = curl(url, token: api.reporter, method: "POST", body: (firstLine, "application/x-ndjson"))
            async let second = curl(url, token: api.reporter, method: "POST", body: (secondLine, "application/x-ndjson"))
            var waiting = 0
            for _ in 0..<200 where waiting < 2 {
                waiting = try await lockWaiters(on: "events", api.db.pool)
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(waiting == 2, "both batches wait for the log")
            let third = try await batch("Third batch.")
            #expect(third.status == 429 && third.errorCode == "too_many_requests")
            #expect(third.headers[.retryAfter] != nil)
            try await holder.release()
            let answers = try await [first, second]
            #expect(answers.allSatisfy { $0.status == 200 && $0.body.contains("\"accepted\":1") }, "\(answers)")
            #expect(try await batch("Fourth batch, after them.").status == 200, "the slots were given back")
        }
    }

    @Test("tokens made by the API expire in 90 days unless never is said")
    func apiTokenExpiry() async throws {
        try await API.run { api in
            let made = try await api.call(.post, "/v1/admin/tokens", token: api.admin, json: ["name": "ninety", "role": "analyst"])
            #expect(made.status == 201)
            let expiresAt = try #require(made["expires_at"]?.stringValue.flatMap { try? Date($0, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) })
            #expect(abs(expiresAt.timeIntervalSinceNow - 90 * 86_400) < 3600, "expires_at \(expiresAt)")
            let never = try await api.call(.post, "/v1/admin/tokens", token: api.admin, json: ["name": "forever", "role": "metrics", "expires": "never"])
            #expect(never.status == 201 && never["expires_at"] == .null && never["role"] == "metrics")
            #expect(try await api.call(.post, "/v1/admin/tokens", token: api.admin, json: ["name": "typo", "role": "analyst", "expires": "nevr"]).status == 422)
        }
    }

    @Test("/metrics is open on loopback; elsewhere it takes an admin or a metrics token")
    func metricsAccess() async throws {
        try await API.run { api in
            let open = try await api.call(.get, "/metrics", token: nil)
            #expect(open.status == 200, "loopback: open")
        }
        // Every interface, so not loopback: the test still reaches it on 127.0.0.1.
        try await API.run(host: "0.0.0.0") { api in
            let scraper = try await AccessTokens(pool: api.db.pool).create(name: "prometheus", role: .metrics)
            #expect(try await api.call(.get, "/metrics", token: nil).status == 401)
            #expect(try await api.call(.get, "/metrics", token: api.analyst).status == 403)
            #expect(try await api.call(.get, "/metrics", token: scraper).status == 200)
            #expect(try await api.call(.get, "/metrics", token: api.admin).status == 200)
            #expect(try await api.call(.get, "/v1/taxonomy", token: scraper).status == 403, "a metrics token reads /metrics only")
        }
    }
}
