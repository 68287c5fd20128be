import Foundation
import Hummingbird
import IncidentAPI
import IncidentStore
import PostgresLibpq

/// `/v1/admin/subscriptions` (admins: define, pause, resume, delete, dead letters) and
/// `/v1/subscriptions/{name}` (a pull subscription's consumers: read and acknowledge), as
/// docs/subscriptions.md describes. Deliveries are ``SubscriptionDispatcher``'s.
struct SubscriptionController: Sendable {
    let deps: AppDependencies

    func addRoutes(to v1: some RouterMethods<APIContext>) {
        v1.post("admin/subscriptions", use: create)
        v1.get("admin/subscriptions", use: list)
        v1.get("admin/subscriptions/{name}", use: show)
        v1.delete("admin/subscriptions/{name}", use: delete)
        v1.post("admin/subscriptions/{name}:pause", use: pause)
        v1.post("admin/subscriptions/{name}:resume", use: resume)
        v1.get("admin/subscriptions/{name}/dead-letters", use: deadLetters)
        v1.post("admin/subscriptions/{name}/dead-letters/{event_id}:retry", use: retry)
        v1.get("subscriptions/{name}/events", use: events)
        v1.post("subscriptions/{name}/ack", use: ack)
    }

    private var store: Subscriptions { deps.subscriptions }

    private func name(_ context: APIContext) -> String { context.parameters.get("name") ?? "" }

    private func notFound(_ name: String) -> APIError { APIError(.notFound, code: "not_found", message: "no subscription named '\(name)'") }

    // MARK: - Admin

    @Sendable func create(_ request: Request, context: APIContext) async throws -> Response {
        var request = request
        let principal = try context.requireAdmin()
        var body = try CommandBody(try await request.jsonBody(), allowed: ["name", "filter", "target", "start", "consumers", "include_confidential"])
        let name = body.string("name")
        if let name, !SubscriptionNames.isValid(name) {
            body.errors.append(FieldError("name", "must be " + SubscriptionNames.rule))
        }
        let startText = body.string("start", required: false) ?? "now"
        let start = SubscriptionStart(startText)
        if start == nil { body.errors.append(FieldError("start", "must be now, beginning or a checkpoint this server gave out, not '\(startText)'")) }
        var filter = SubscriptionFilter()
        do {
            filter = try SubscriptionFilter.parse(body.object["filter"], reference: deps.service.reference)
        } catch {
            body.errors += error.errors
        }
        let target = Self.target(&body)
        let consumers = Self.consumers(&body, target: target)
        var includeConfidential = false
        switch body.object["include_confidential"] {
        case nil, .null?: break
        case .bool(let value)?: includeConfidential = value
        default: body.errors.append(FieldError("include_confidential", "must be true or false"))
        }
        try body.check()
        if case .webhook(let url) = target {
            do {
                _ = try await deps.webhooks.check(url)
            } catch let refusal as WebhookPolicy.Refusal {
                // Named as every refused field is (`details.fields`), so that clients show it alike.
                let message = "webhook URL refused: \(refusal.description)"
                throw APIError(
                    .unprocessableContent, code: "webhook_target_refused", message: message,
                    details: ["fields": [["field": "target.url", "message": .string(message)]]])
            }
        }
        do {
            let (subscription, secret) = try await store.create(
                .init(name: name!, filter: filter, target: target!, start: start!, consumers: consumers, includeConfidential: includeConfidential),
                by: auditActor(context, principal))
            var object = try await render(subscription).objectValue ?? [:]
            if let secret { object["secret"] = .string(secret) }
            return JSONResponse.make(.created, .object(object))
        } catch SubscriptionError.exists(let name) {
            throw APIError(.conflict, code: "subscription_exists", message: "a subscription named '\(name)' exists")
        }
    }

    /// `target`: a webhook with its URL, or pull.
    private static func target(_ body: inout CommandBody) -> Subscription.Target? {
        let object = body.object["target"]?.objectValue
        if let unknown = object?.keys.first(where: { $0 != "kind" && $0 != "url" }) { body.errors.append(FieldError.unknown("target.\(unknown)")) }
        switch (object?["kind"]?.stringValue, object?["url"]) {
        case ("pull", nil): return .pull
        case ("webhook", .string(let url)?): return .webhook(url: url)
        case ("webhook", _): body.errors.append(FieldError("target.url", "a webhook needs a url (https://...)"))
        default: body.errors.append(FieldError("target", #"must be {"kind": "webhook", "url": "https://..."} or {"kind": "pull"}"#))
        }
        return nil
    }

    /// `consumers`: token names, for a pull subscription only.
    private static func consumers(_ body: inout CommandBody, target: Subscription.Target?) -> [String] {
        guard let given = body.object["consumers"], given != .null else { return [] }
        let names = given.arrayValue?.compactMap(\.stringValue)
        guard let names, names.count == given.arrayValue?.count, names.allSatisfy(AccessTokens.isValidName) else {
            body.errors.append(FieldError("consumers", "must be an array of token names"))
            return []
        }
        if case .webhook = target, !names.isEmpty { body.errors.append(FieldError("consumers", "only a pull subscription has consumers")) }
        return names
    }

    @Sendable func list(_ request: Request, context: APIContext) async throws -> Response {
        _ = try context.requireAdmin()
        var rows: [JSONValue] = []
        for subscription in try await store.list() { rows.append(try await render(subscription)) }
        return JSONResponse.make(.ok, ["subscriptions": .array(rows)])
    }

    @Sendable func show(_ request: Request, context: APIContext) async throws -> Response {
        _ = try context.requireAdmin()
        guard let subscription = try await store.get(name(context)) else { throw notFound(name(context)) }
        return JSONResponse.make(.ok, try await render(subscription))
    }

    @Sendable func pause(_ request: Request, context: APIContext) async throws -> Response { try await setPaused(true, context) }
    @Sendable func resume(_ request: Request, context: APIContext) async throws -> Response { try await setPaused(false, context) }

    private func setPaused(_ paused: Bool, _ context: APIContext) async throws -> Response {
        let principal = try context.requireAdmin()
        guard let subscription = try await store.setPaused(name(context), paused, by: auditActor(context, principal)) else { throw notFound(name(context)) }
        return JSONResponse.make(.ok, try await render(subscription))
    }

    @Sendable func delete(_ request: Request, context: APIContext) async throws -> Response {
        let principal = try context.requireAdmin()
        guard try await store.delete(name(context), by: auditActor(context, principal)) else { throw notFound(name(context)) }
        return JSONResponse.make(.ok, ["name": .string(name(context)), "deleted": true])
    }

    @Sendable func deadLetters(_ request: Request, context: APIContext) async throws -> Response {
        _ = try context.requireAdmin()
        guard try await store.get(name(context)) != nil else { throw notFound(name(context)) }
        let letters = try await store.deadLetters(name(context))
        return JSONResponse.make(.ok, ["dead_letters": .array(letters.map(Self.render))])
    }

    @Sendable func retry(_ request: Request, context: APIContext) async throws -> Response {
        let principal = try context.requireAdmin()
        guard let text = context.parameters.get("event_id"), let eventID = UUID(uuidString: text),
            try await store.retry(name(context), eventID: eventID, by: auditActor(context, principal))
        else { throw APIError(.notFound, code: "not_found", message: "no such dead letter in subscription '\(name(context))'") }
        return JSONResponse.make(.accepted, ["event_id": .string(eventID.lowercasedText), "retrying": true])
    }

    // MARK: - Pull consumers

    /// The pull subscription `name`, when the caller's token is one of its consumers.
    private func pullSubscription(_ context: APIContext) async throws -> Subscription {
        let principal = try context.requirePrincipal()
        guard let subscription = try await store.get(name(context)) else { throw notFound(name(context)) }
        guard subscription.consumers.contains(principal.name) else {
            throw APIError(.forbidden, code: "forbidden", message: "this token is not a consumer of subscription '\(subscription.name)'")
        }
        guard subscription.target == .pull else {
            throw APIError(.conflict, code: "not_a_pull_subscription", message: "subscription '\(subscription.name)' delivers by webhook")
        }
        return subscription
    }

    /// The next events after the stored checkpoint, waiting up to `wait` seconds for one. The
    /// checkpoint answered is where an ack moves the subscription: nothing moves until then.
    @Sendable func events(_ request: Request, context: APIContext) async throws -> Response {
        let subscription = try await pullSubscription(context)
        let query = request.uri.queryParameters
        func number(_ name: String, _ range: ClosedRange<Int>, default value: Int) throws -> Int {
            guard let text = query.get(name) else { return value }
            guard let number = Int(text), range.contains(number) else {
                throw APIError(.badRequest, code: "bad_request", message: "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            }
            return number
        }
        let wait = try number("wait", 0...30, default: 0)
        let limit = try number("limit", 1...1000, default: 100)
        let deadline = ContinuousClock.now + .seconds(wait)
        var scan = try await store.scan(subscription, after: subscription.checkpoint, limit: limit)
        while scan.matches.isEmpty && ContinuousClock.now < deadline && !Task.isCancelled {
            try await Task.sleep(for: .milliseconds(200))
            scan = try await store.scan(subscription, after: scan.checkpoint, limit: limit)
        }
        return JSONResponse.make(
            .ok, ["events": .array(scan.matches.map { SubscriptionPayload.event($0, for: subscription) }), "checkpoint": .string(scan.checkpoint.token)])
    }

    @Sendable func ack(_ request: Request, context: APIContext) async throws -> Response {
        var request = request
        let subscription = try await pullSubscription(context)
        var body = try CommandBody(try await request.jsonBody(), allowed: ["checkpoint"])
        let text = body.string("checkpoint")
        let checkpoint = text.flatMap(Checkpoint.init(token:))
        if text != nil && checkpoint == nil { body.errors.append(FieldError("checkpoint", "is not a checkpoint this server gave out")) }
        try body.check()
        guard let stored = try await store.acknowledge(subscription.name, checkpoint: checkpoint!) else { throw notFound(subscription.name) }
        return JSONResponse.make(.ok, ["checkpoint": .string(stored.token)])
    }

    // MARK: - Shapes

    /// A subscription as the API answers it (never its secret).
    func render(_ subscription: Subscription) async throws -> JSONValue {
        let lag = try await store.lag(subscription)
        let deadLetters = try await store.deadLetters(subscription.name).count
        let target: JSONValue =
            switch subscription.target {
            case .webhook(let url): ["kind": "webhook", "url": .string(url)]
            case .pull: ["kind": "pull"]
            }
        return [
            "name": .string(subscription.name), "filter": subscription.filter.json, "target": target,
            "consumers": .array(subscription.consumers.map(JSONValue.string)), "include_confidential": .bool(subscription.includeConfidential),
            "state": .string(subscription.paused ? "paused" : "active"), "checkpoint": .string(subscription.checkpoint.token),
            "lag_events": .number(Double(lag)), "delivered": .number(Double(subscription.delivered)), "dead_letters": .number(Double(deadLetters)),
            "last_delivery": subscription.lastDelivery ?? .null,
            "failures": [
                "attempts": .number(Double(subscription.attempts)), "next_attempt_at": subscription.nextAttemptAt.map(Render.timestamp) ?? .null,
                "last_error": subscription.lastError.map(JSONValue.string) ?? .null,
            ],
            "created_at": Render.timestamp(subscription.createdAt), "created_by": .string(subscription.createdBy),
        ]
    }

    static func render(_ letter: DeadLetter) -> JSONValue {
        [
            "event_id": .string(letter.eventID.lowercasedText), "global_position": .number(Double(letter.globalPosition)),
            "attempts": .number(Double(letter.attempts)), "last_error": letter.lastError.map(JSONValue.string) ?? .null,
            "dead_at": Render.timestamp(letter.deadAt), "retrying": .bool(letter.retrying),
            "next_attempt_at": letter.nextAttemptAt.map(Render.timestamp) ?? .null,
        ]
    }
}
