import ArgumentParser
import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1
import Synchronization

/// A webhook receiver for the run: a subscription to every event from now on, delivered to a
/// Hummingbird server on loopback that notes when each `webhook-id` first arrives and answers 204.
final class WebhookReceiver: Sendable {
    let arrivals = Mutex<[String: ContinuousClock.Instant]>([:])
    let name = "bench-delivery-\(getpid())"
    let client: HTTPClient
    let target: Target
    let server = Mutex<Task<Void, any Error>?>(nil)

    private init(client: HTTPClient, target: Target) {
        self.client = client
        self.target = target
    }

    static func start(port: Int, client: HTTPClient, target: Target) async throws -> WebhookReceiver {
        let receiver = WebhookReceiver(client: client, target: target)
        let router = Router()
        router.post("bench") { request, _ -> Response in
            let now = ContinuousClock.now
            if let id = request.headers[HTTPField.Name("webhook-id")!] { receiver.arrivals.withLock { if $0[id] == nil { $0[id] = now } } }
            return Response(status: .noContent)
        }
        // Quiet: the server is cancelled when the run ends, which Hummingbird logs as errors.
        var logger = Logger(label: "bench-webhook-receiver")
        logger.logLevel = .critical
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port)), logger: logger)
        let server = Task { try await app.runService(gracefulShutdownSignals: []) }
        receiver.server.withLock { $0 = server }
        let body = #"{"name": "\#(receiver.name)", "target": {"kind": "webhook", "url": "http://127.0.0.1:\#(port)/bench"}, "start": "now"}"#
        let (status, data) = try await post(client, target, "/v1/admin/subscriptions", body)
        guard status == 201 else {
            server.cancel()
            throw ValidationError("POST /v1/admin/subscriptions: \(status) \(String(decoding: data, as: UTF8.self))")
        }
        // The dispatcher looks for new subscriptions once a second: reports start after it has.
        try await Task.sleep(for: .seconds(2))
        return receiver
    }

    /// Waits (at most 60 s) for every written event, then deletes the subscription; returns the
    /// delivery lags in milliseconds, sorted.
    func finish(_ written: [String: ContinuousClock.Instant]) async throws -> [Double] {
        let deadline = ContinuousClock.now + .seconds(60)
        while arrivals.withLock({ arrived in written.keys.contains { arrived[$0] == nil } }) && ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        var request = HTTPClientRequest(url: target.url + "/v1/admin/subscriptions/" + name)
        request.method = .DELETE
        request.headers.add(name: "Authorization", value: "Bearer " + target.token)
        _ = try await client.execute(request, timeout: .seconds(30))
        server.withLock { $0?.cancel() }
        let arrived = arrivals.withLock { $0 }
        return written.compactMap { id, answered in arrived[id].map { milliseconds($0 - answered) } }.sorted()
    }
}
