import AsyncHTTPClient
import Foundation
import IncidentStore
import Logging
import Metrics
import PostgresLibpq
import ServiceLifecycle

/// Delivers the webhook subscriptions (docs/subscriptions.md), as the one active dispatcher among
/// the daemons sharing a database.
///
/// Like the projector it holds a session advisory lock (``ActiveInstance/dispatcher``) on a
/// connection of its own, checked every second: the holder runs one worker per active webhook
/// subscription, the others stand by and take over when the holder's session ends. A worker
/// delivers the next matching event after its subscription's checkpoint, one at a time, and
/// moves the checkpoint only after the receiver's 2xx, in the statement that records the
/// delivery, and only from where it found it: a crash re-delivers (the same `webhook-id`), never
/// skips, and a dispatcher that lost its lock without knowing cannot move a checkpoint another has
/// moved. Failed tries wait with exponential backoff and full jitter; the last one sends the
/// event to the dead letters and delivery goes on.
///
/// Every daemon reports `incident_subscription_lag_events`, standbys too, and
/// `incident_dispatcher_active` (1 on the one that delivers).
struct SubscriptionDispatcher: Service {
    let pool: ConnectionPool
    let subscriptions: Subscriptions
    let sender: WebhookSender
    let retryMin: Duration
    let retryMax: Duration
    let logger: Logger
    /// How long a worker waits when there is nothing to deliver.
    var idle: Duration = .milliseconds(50)
    /// Matches read at once, then sent one by one.
    static let batch = 100

    func run() async throws {
        let lock = DedicatedConnection(like: pool)
        var held: Int?
        var workers: [String: Task<Void, Never>] = [:]
        var lagGauges: [String: Gauge] = [:]
        let active = Gauge(label: "incident_dispatcher_active")
        active.record(0)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let holder = try await lock.run { [held] connection -> Int? in
                    if held == connection.serial {
                        try connection.execute("SELECT 1")
                        return held
                    }
                    return try ActiveInstance.dispatcher.tryAcquire(on: connection) ? connection.serial : nil
                }
                if holder != held {
                    logger.info(holder == nil ? "dispatcher standing by: another daemon delivers the subscriptions" : "dispatcher active")
                    held = holder
                }
                active.record(held == nil ? 0 : 1)
                let all = try await subscriptions.list()
                for subscription in all {
                    let lag = try await subscriptions.lag(subscription)
                    let gauge = lagGauges[subscription.name] ?? Gauge(label: "incident_subscription_lag_events", dimensions: [("subscription", subscription.name)])
                    lagGauges[subscription.name] = gauge
                    gauge.record(lag)
                }
                let wanted = Set(held == nil ? [] : all.filter { !$0.paused && $0.target != .pull }.map(\.name))
                for (name, worker) in workers where !wanted.contains(name) {
                    worker.cancel()
                    workers[name] = nil
                }
                for name in wanted where workers[name] == nil {
                    workers[name] = Task { await deliver(name) }
                }
            } catch {
                if held != nil { logger.warning("dispatcher lost its database connection", metadata: ["error": "\(error)"]) }
                held = nil
                active.record(0)
                for worker in workers.values { worker.cancel() }
                workers = [:]
            }
            try? await Task.sleep(for: .seconds(1))
        }
        for worker in workers.values { worker.cancel() }
        for worker in workers.values { await worker.value }
        await lock.close()
        try? await sender.client.shutdown()
    }

    /// One subscription's deliveries, until cancelled.
    private func deliver(_ name: String) async {
        var key: Data?
        let counters = ["delivered", "failed", "dead_letter"].reduce(into: [String: Counter]()) {
            $0[$1] = Counter(label: "incident_webhook_deliveries_total", dimensions: [("subscription", name), ("outcome", $1)])
        }
        while !Task.isCancelled {
            do {
                guard let subscription = try await subscriptions.get(name), case .webhook(let url) = subscription.target, !subscription.paused else {
                    try await Task.sleep(for: .milliseconds(250))
                    continue
                }
                if key == nil { key = try await subscriptions.secret(of: name) }
                guard let key else { return }
                let webhook = Webhook(subscription: subscription, url: url, key: key, counters: counters)
                // A dead letter an admin sent again goes first.
                if try await retryDeadLetter(webhook) { continue }
                if let next = subscription.nextAttemptAt, next > Date() {
                    try await Task.sleep(for: min(.milliseconds(250), .milliseconds(Int64(next.timeIntervalSinceNow * 1000) + 1)))
                    continue
                }
                if try await deliverNext(webhook) == 0 { try await Task.sleep(for: idle) }
            } catch is CancellationError {
                return
            } catch {
                logger.error("subscription delivery failed; retrying", metadata: ["subscription": "\(name)", "error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
    }

    /// What a worker's round knows of its subscription.
    private struct Webhook {
        var subscription: Subscription
        var url: String
        var key: Data
        var counters: [String: Counter]
        var name: String { subscription.name }
    }

    private func send(_ match: SubscriptionMatch, _ webhook: Webhook) async -> WebhookSender.Answer {
        await sender.send(
            to: webhook.url, id: match.event.eventID.lowercasedText, body: SubscriptionPayload.webhookBody(match, for: webhook.subscription), key: webhook.key)
    }

    /// Sends the first dead letter whose retry is due, if there is one.
    /// - Returns: whether there was one.
    private func retryDeadLetter(_ webhook: Webhook) async throws -> Bool {
        guard let (letter, match) = try await subscriptions.dueRetry(webhook.subscription) else { return false }
        let answer = await send(match, webhook)
        guard !Task.isCancelled else { return true }
        webhook.counters[answer.outcome]?.increment()
        if answer.delivered {
            try await subscriptions.retried(webhook.name, eventID: letter.eventID, delivery: Self.delivery(match.event, answer))
        } else {
            try await subscriptions.retryFailed(
                webhook.name, eventID: letter.eventID, attempts: letter.attempts + 1, error: answer.error ?? "", next: Date() + backoff(letter.attempts + 1))
        }
        return true
    }

    /// The next matches after the checkpoint, sent one at a time, the checkpoint moved after each
    /// 2xx. A refusal ends the round: the next starts from what the database then holds.
    /// - Returns: how many matches there were.
    private func deliverNext(_ webhook: Webhook) async throws -> Int {
        let name = webhook.name
        let scan = try await subscriptions.scan(webhook.subscription, after: webhook.subscription.checkpoint, limit: Self.batch)
        var checkpoint = webhook.subscription.checkpoint
        var attempts = webhook.subscription.attempts
        for match in scan.matches {
            let answer = await send(match, webhook)
            // Cancelled mid-try (the lock lost, a pause): nothing is recorded, the event goes again.
            guard !Task.isCancelled else { return scan.matches.count }
            let delivery = Self.delivery(match.event, answer)
            if answer.delivered {
                webhook.counters["delivered"]?.increment()
                // Moved by someone else meanwhile (another dispatcher): start again from there.
                guard try await subscriptions.advance(name, from: checkpoint, to: match.event.checkpoint, delivery: delivery) else { return scan.matches.count }
                checkpoint = match.event.checkpoint
                attempts = 0
                continue
            }
            attempts += 1
            let dead = attempts >= Subscriptions.maxAttempts
            webhook.counters[dead ? "dead_letter" : "failed"]?.increment()
            let recorded = try await subscriptions.failed(
                name, at: checkpoint, event: match.event, attempts: attempts, error: answer.error ?? "", next: Date() + backoff(attempts),
                delivery: dead ? Self.delivery(match.event, answer, outcome: "dead_letter") : delivery)
            if dead && recorded {
                logger.warning(
                    "webhook refused \(attempts) times: the event went to the dead letters",
                    metadata: ["subscription": "\(name)", "event_id": "\(match.event.eventID.lowercasedText)", "error": "\(answer.error ?? "")"])
            }
            return scan.matches.count
        }
        // Everything up to the scan's end was looked at: past the events that did not match.
        if scan.checkpoint != checkpoint { _ = try await subscriptions.advance(name, from: checkpoint, to: scan.checkpoint) }
        return scan.matches.count
    }

    func backoff(_ attempts: Int) -> TimeInterval { Self.backoff(attempts, from: retryMin, upTo: retryMax) }

    /// The wait before try `attempts + 1`: `minimum` doubled for each failed try, at most
    /// `maximum`, and of that a random share from half to all (so receivers that come back are
    /// not met by every sender at once).
    static func backoff(_ attempts: Int, from minimum: Duration, upTo maximum: Duration) -> TimeInterval {
        func seconds(_ duration: Duration) -> Double { Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18 }
        let full = min(seconds(maximum), seconds(minimum) * pow(2, Double(max(0, attempts - 1))))
        return Double.random(in: (full / 2)...max(full / 2, full))
    }

    /// The `last_delivery` of a subscription after a try.
    static func delivery(_ event: RecordedEvent, _ answer: WebhookSender.Answer, outcome: String? = nil) -> JSONValue {
        [
            "event_id": .string(event.eventID.lowercasedText), "at": Render.timestamp(Date()),
            "status": answer.status.map { .number(Double($0)) } ?? .null, "outcome": .string(outcome ?? answer.outcome),
            "error": answer.error.map(JSONValue.string) ?? .null,
        ]
    }
}

/// How webhooks are sent: `serve`'s `--allow-webhook-host`, `--webhook-timeout`,
/// `--webhook-retry-min` and `--webhook-retry-max`.
struct WebhookSettings: Sendable {
    var policy = WebhookPolicy()
    var timeout: Duration = .seconds(10)
    var retryMin: Duration = .seconds(1)
    var retryMax: Duration = .seconds(600)
}
