import Foundation
import IncidentStore
import IncidentTesting
import Logging
import PostgresLibpq
import Synchronization
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// What the clients saw, counted across them.
final class Ledger: Sendable {
    struct Figures {
        var requests = 0, acknowledged = 0, replayed = 0, retried = 0, unavailable = 0, withoutRetryAfter = 0, unanswered = 0
        /// When each answer came: the 2xx ones, and the failures (none, or a 5xx).
        var acknowledgedAt: [ContinuousClock.Instant] = [], failedAt: [ContinuousClock.Instant] = []
    }

    private let state = Mutex(Figures())
    var figures: Figures { state.withLock { $0 } }
    var acknowledged: Int { state.withLock { $0.acknowledged } }
    func record(_ body: (inout Figures) -> Void) { state.withLock { body(&$0) } }
}

/// An answer from the daemon, or none (`status` nil: refused, reset, timed out).
struct Answer {
    var status: Int?
    var retryAfter: String?
    var json: JSONValue?
    var elapsed: Duration
}

/// Every report is sent, by `clients` concurrent reporters, until the daemon answers it 2xx: after
/// no answer or a 5xx the same body (same idempotency key) goes again. Gives up after 2 minutes.
func drive(_ reports: [FieldReport], clients: Int, port: Int, token: String, ledger: Ledger, pause: Duration = .zero) async {
    await withTaskGroup(of: Void.self) { group in
        for client in 0..<clients {
            group.addTask {
                let deadline = ContinuousClock.now + .seconds(120)
                for report in reports.enumerated().filter({ $0.offset % clients == client }).map(\.element) {
                    var attempts = 0
                    while ContinuousClock.now < deadline {
                        let answer = await post(port, token: token, body: report.body)
                        attempts += 1
                        let status = answer.status
                        let answeredAt = ContinuousClock.now
                        ledger.record { figures in
                            figures.requests += 1
                            if status == nil || status! >= 500 { figures.failedAt.append(answeredAt) }
                            if status == nil { figures.unanswered += 1 }
                            if status == 503 {
                                figures.unavailable += 1
                                if answer.retryAfter == nil { figures.withoutRetryAfter += 1 }
                            }
                            if let status, (200..<300).contains(status) {
                                figures.acknowledged += 1
                                figures.acknowledgedAt.append(answeredAt)
                                if status == 200 { figures.replayed += 1 }
                                if attempts > 1 { figures.retried += 1 }
                            }
                        }
                        if let status, (200..<300).contains(status) { break }
                        if let status, status < 500 {
                            Issue.record("a field report was refused: \(status) \(String(describing: answer.json))")
                            break
                        }
                        try? await Task.sleep(for: .milliseconds(50))
                    }
                    if pause > .zero { try? await Task.sleep(for: pause) }
                }
            }
        }
    }
}

/// A session without connection reuse across a killed daemon's sockets mattering: each request
/// stands alone, with a timeout well beyond any the daemon should need.
private let session: URLSession = {
    let configuration = URLSessionConfiguration.ephemeral
    configuration.timeoutIntervalForRequest = 15
    configuration.httpMaximumConnectionsPerHost = 16
    return URLSession(configuration: configuration)
}()

func post(
    _ port: Int, _ path: String = "/v1/incidents", token: String, body: Data, contentType: String = "application/json", headers: [String: String] = [:]
) async -> Answer {
    var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)" + path)!)
    request.httpMethod = "POST"
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    request.httpBody = body
    request.setValue(contentType, forHTTPHeaderField: "Content-Type")
    request.setValue("Bearer " + token, forHTTPHeaderField: "Authorization")
    return await send(request)
}

func get(_ port: Int, _ path: String, token: String?, headers: [String: String] = [:]) async -> Answer {
    var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)" + path)!)
    if let token { request.setValue("Bearer " + token, forHTTPHeaderField: "Authorization") }
    for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
    return await send(request)
}

private func send(_ request: URLRequest) async -> Answer {
    let start = ContinuousClock.now
    guard let (data, response) = try? await session.data(for: request), let http = response as? HTTPURLResponse else {
        return Answer(elapsed: ContinuousClock.now - start)
    }
    return Answer(
        status: http.statusCode, retryAfter: http.value(forHTTPHeaderField: "Retry-After"), json: try? JSONValue.parse(data), elapsed: ContinuousClock.now - start)
}

/// IncidentReported events per stream, read from the log.
func reportedCounts(_ pool: ConnectionPool) async throws -> [String: Int] {
    try await pool.withConnection { connection in
        var counts: [String: Int] = [:]
        for row in try connection.query("SELECT stream, count(*) FROM events WHERE type = 'IncidentReported' GROUP BY stream").rows {
            counts[try row.decode(0)] = try row.decode(1)
        }
        return counts
    }
}

/// Waits (at most a minute) until `condition` holds; records an issue and throws when it does not.
func waitUntil(_ what: String, _ condition: () -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(60)
    while !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("timed out waiting for: \(what)")
            throw CancellationError()
        }
        try await Task.sleep(for: .milliseconds(5))
    }
}

/// Waits until the daemon's projector has applied everything in the log.
func settle(_ pool: ConnectionPool) async throws {
    for _ in 0..<1000 {
        if try await readModelLag(pool) == 0 { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("the projector did not catch up")
}
