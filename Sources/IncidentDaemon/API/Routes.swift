import Logging
import Foundation
import Hummingbird
import IncidentStore
import Metrics
import NIOCore
import PostgresLibpq
import ServiceLifecycle
import HTTPTypes

/// Everything the routes need.
struct AppDependencies: Sendable {
    let pool: ConnectionPool
    let service: IncidentService
    let tokens: AccessTokens
    /// The read models the projector keeps and admins may rebuild.
    let projections: [any Projection]
    /// Where rebuilds run; nil (tests of other things): the rebuild route answers 503.
    var rebuilds: RebuildService? = nil
    /// A request body from which no byte arrives for this long is given up (408).
    var bodyStall: Duration = .seconds(20)
    /// The keys of the sealed offline outbox; nil (tests of other things): its routes answer 503.
    var outbox: OutboxKeys? = nil
    /// Failed authentications per client address (docs/api.md, Authentication and roles).
    var authFailures = AuthFailureLimiter()
    /// The `statement_timeout` of every statement an API request runs; nil: none of the API's own.
    var statementTimeout: Duration? = .seconds(10)
    /// Batch imports running at once.
    var batches = ConcurrencyLimit(limit: 2)
    /// Open event streams per token (by its name).
    var streams = ConcurrencyLimit(limit: 4)
    /// How often an open stream checks that its token is still valid (revoked, expired).
    var streamRecheck: Duration = .seconds(2)
}

/// The router of the whole API (docs/api.md), built the same way by `serve` and the tests.
func buildRouter(_ deps: AppDependencies) -> Router<APIContext> {
    let router = Router(context: APIContext.self)
    // Metrics outside the error middleware: they count the answers clients got (a 405 is a 405).
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: ErrorMiddleware())
    router.add(middleware: StatementTimeoutMiddleware(timeout: deps.statementTimeout))

    router.get("/healthz") { _, _ in JSONResponse.make(.ok, ["status": "ok"]) }
    router.get("/v1/openapi.json") { _, _ in JSONResponse.make(.ok, OpenAPI.document) }
    router.get("/readyz") { _, _ -> Response in
        do {
            let pending = try await deps.pool.withConnection { try Migrator().pendingMigrations($0).count }
            guard pending == 0 else {
                return JSONResponse.make(.serviceUnavailable, ["status": "migrations_pending", "pending": .number(Double(pending))])
            }
            return JSONResponse.make(.ok, ["status": "ready"])
        } catch {
            var response = JSONResponse.make(.serviceUnavailable, ["status": "database_unavailable"])
            response.headers[.retryAfter] = "5"
            return response
        }
    }

    let v1 = router.group("v1")
        .add(middleware: AuthMiddleware(tokens: deps.tokens, failures: deps.authFailures))
        .add(middleware: BodyDeadlineMiddleware(stall: deps.bodyStall))
        .add(middleware: OutboxKeyHeaderMiddleware(deps))
    addReferenceRoutes(v1, deps)
    addIncidentRoutes(v1, deps)
    addBatchRoute(v1, deps)
    addStreamRoute(v1, deps)
    addLogRoutes(v1, deps)
    addAdminRoutes(v1, deps)
    addReportRoutes(v1, deps)
    addProjectionRoutes(v1, deps)
    addOutboxRoutes(v1, deps)
    addAuditRoutes(v1, deps)
    return router
}

func metadata(_ request: Request, _ context: APIContext, _ principal: Principal) -> EventMetadata {
    EventMetadata(
        principal: principal.name, role: principal.role.rawValue, requestID: context.id,
        client: request.headers[.userAgent].map { String($0.prefix(100)) }
    )
}

func incidentID(_ context: APIContext) throws -> UUID {
    try incidentID(context.parameters.get("id"))
}

/// The `{id}` of a path as an incident id; 404 when it is not one.
func incidentID(_ text: String?) throws -> UUID {
    guard let text, let id = UUID(uuidString: text) else {
        throw APIError(.notFound, code: "not_found", message: "incident not found")
    }
    return id
}

/// Events appended by reports (made once, on first use: after the metrics system is set up).
let appendsTotal = Counter(label: "incident_appends_total")

func written(_ outcome: WriteOutcome) -> Response {
    if !outcome.replayed { appendsTotal.increment() }
    return JSONResponse.make(outcome.replayed ? .ok : .created, Render.write(outcome))
}

func addReferenceRoutes(_ v1: RouterGroup<APIContext>, _ deps: AppDependencies) {
    v1.get("taxonomy") { _, _ in
        let taxonomy = deps.service.reference.taxonomy
        return JSONResponse.make(.ok, ["categories": try JSONValue(encoding: taxonomy.categories)])
    }
    v1.get("regions") { _, _ in
        let regions = deps.service.reference.regions
        let districts = regions.districts.map { district -> JSONValue in
            [
                "code": .string(district.code), "name": .string(district.displayName),
                "name_sq": .string(district.nameSq), "name_sr": .string(district.nameSr),
                "municipalities": .array(regions.municipalities(inDistrict: district.code).map { m in
                    [
                        "code": .string(m.code), "name": .string(m.displayName), "name_sq": .string(m.nameSq),
                        "name_sr": .string(m.nameSr), "aliases": .array(m.aliases.map { .string($0) }),
                        "seat_lat": .number(m.seatLat), "seat_lon": .number(m.seatLon),
                    ]
                }),
            ]
        }
        return JSONResponse.make(.ok, ["districts": .array(districts)])
    }
}

func addIncidentRoutes(_ v1: RouterGroup<APIContext>, _ deps: AppDependencies) {
    // The four writes ictl may queue run in IncidentWrite, which the outbox's delivery calls too.
    v1.post("incidents") { request, context -> Response in
        try await IncidentWrite.report.run(try IncidentWrite.Input(request, context), deps)
    }

    v1.get("incidents") { request, context -> Response in
        let principal = try context.requirePrincipal()
        let query = request.uri.queryParameters
        var filter = IncidentFilter()
        filter.municipality = query.get("municipality")
        filter.district = query.get("district")
        filter.category = query.get("category")
        filter.subcategory = query.get("subcategory")
        filter.status = query.get("status")
        filter.since = query.get("since")
        filter.until = query.get("until")
        filter.q = query.get("q")
        filter.cursor = query.get("cursor")
        if let limit = query.get("limit") {
            guard let value = Int(limit) else {
                throw APIError(.badRequest, code: "bad_request", message: "limit must be a whole number from 1 to \(IncidentService.maximumPageSize)")
            }
            filter.limit = value
        }
        let page: IncidentPage
        do {
            page = try await deps.service.list(filter, for: principal)
        } catch ServiceError.invalid(let failure) {
            let fields = JSONValue.array(failure.errors.map { ["field": .string($0.field), "message": .string($0.message)] })
            throw APIError(.badRequest, code: "bad_filter", message: failure.description, details: ["fields": fields])
        }
        return JSONResponse.make(.ok, [
            "items": .array(page.items.map { Render.incident($0.state, personal: nil, events: nil, for: principal) }),
            "next_cursor": page.nextCursor.map { .string($0) } ?? .null,
        ])
    }

    v1.get("incidents/{id}") { request, context -> Response in
        let principal = try context.requirePrincipal()
        let values = request.uri.queryParameters.getAll("history")
        guard values.allSatisfy({ $0 == "true" || $0 == "false" }) else {
            throw APIError(.badRequest, code: "bad_parameter", message: "history must be true or false")
        }
        let history = values.last == "true"
        // Personal data only when asked for, by an admin, with a reason (docs/api.md, Reading incidents).
        let include = request.uri.queryParameters.getAll("include").flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
        guard include.allSatisfy({ $0 == "personal" }) else {
            throw APIError(.badRequest, code: "bad_parameter", message: "include may only be personal")
        }
        var personal: IncidentService.PersonalDataRead?
        if !include.isEmpty {
            try IncidentService.authorize(.readPersonalData, principal)
            let reason = try AccessAudit.accessReason(request.headers[.accessReason])
            personal = .init(by: auditActor(context, principal), reason: reason)
        } else if let reason = request.headers[.accessReason] {
            // A reason given is checked even when nothing asks for it: a malformed header is an error.
            _ = try AccessAudit.accessReason(reason)
        }
        let view = try await deps.service.incident(try incidentID(context), history: history, for: principal, personal: personal)
        return JSONResponse.make(.ok, Render.incident(view.state, personal: view.personal, events: view.events, for: principal))
    }

    v1.post("incidents/{id}/amendments") { request, context -> Response in
        try await IncidentWrite.amendment.run(try IncidentWrite.Input(request, context), deps)
    }

    v1.post("incidents/{id}/verification") { request, context -> Response in
        try await IncidentWrite.verification.run(try IncidentWrite.Input(request, context), deps)
    }

    v1.post("incidents/{id}/retraction") { request, context -> Response in
        try await IncidentWrite.retraction.run(try IncidentWrite.Input(request, context), deps)
    }

    v1.post("incidents/{id}/personal-data:erase") { request, context -> Response in
        var request = request
        let principal = try context.requirePrincipal()
        try IncidentService.authorize(.erase, principal)
        var body = try CommandBody(try await request.jsonBody(), allowed: ["reason"])
        let reason = body.string("reason")
        try body.check()
        let outcome = try await deps.service.erasePersonalData(
            try incidentID(context), reason: reason!, by: principal, metadata: metadata(request, context, principal), audit: auditActor(context, principal))
        return written(outcome)
    }

    v1.post("incidents/{id}/narrative:redact") { request, context -> Response in
        var request = request
        let principal = try context.requirePrincipal()
        try IncidentService.authorize(.redact, principal)
        var body = try CommandBody(try await request.jsonBody(), allowed: ["reason", "replacement"])
        let reason = body.string("reason")
        try body.check()
        let outcome = try await deps.service.redactNarrative(
            try incidentID(context), reason: reason!, replacement: body.object["replacement"] ?? [:], by: principal, metadata: metadata(request, context, principal),
            audit: auditActor(context, principal))
        return written(outcome)
    }
}

func addLogRoutes(_ v1: RouterGroup<APIContext>, _ deps: AppDependencies) {
    v1.get("events") { request, context -> Response in
        let principal = try context.requirePrincipal()
        guard principal.role != .reporter else {
            throw APIError(.forbidden, code: "forbidden", message: "reporters may not read the log")
        }
        let query = request.uri.queryParameters
        guard let checkpoint = Checkpoint(token: query.get("after") ?? "") else {
            throw APIError(.badRequest, code: "bad_checkpoint", message: "after is not a checkpoint this server gave out")
        }
        var limit = 100
        if let text = query.get("limit") {
            guard let value = Int(text), (1...1000).contains(value) else {
                throw APIError(.badRequest, code: "bad_request", message: "limit must be a whole number from 1 to 1000")
            }
            limit = value
        }
        let (events, next) = try await LogFeed(pool: deps.pool, narrative: deps.service.narrative).page(after: checkpoint, limit: limit, for: principal)
        return JSONResponse.make(.ok, ["events": .array(events.map { Render.event($0, for: principal) }), "checkpoint": .string(next.token)])
    }
}

/// The log as a principal may read it (``Disclosure``): events of incidents that ever were
/// confidential are left out for everyone but admins; personal data never appears; free text is
/// opened (or reads `[redacted]` where its key was destroyed).
struct LogFeed: Sendable {
    let pool: ConnectionPool
    let narrative: NarrativeVault

    func page(after checkpoint: Checkpoint, limit: Int, for principal: Principal) async throws -> ([RecordedEvent], Checkpoint) {
        try await pool.withConnection { [narrative] connection in
            let page = try EventStore.read(after: checkpoint, limit: limit, on: connection)
            guard !Disclosure.readsWholeLog(principal), !page.events.isEmpty else { return (try narrative.open(page.events, on: connection), page.checkpoint) }
            let hidden = try Disclosure.hiddenStreams(Array(Set(page.events.map(\.stream))), on: connection)
            return (try narrative.open(page.events.filter { !hidden.contains($0.stream) }, on: connection), page.checkpoint)
        }
    }
}

func addAdminRoutes(_ v1: RouterGroup<APIContext>, _ deps: AppDependencies) {
    @Sendable func requireAdmin(_ context: APIContext) throws {
        guard try context.requirePrincipal().role == .admin else {
            throw APIError(.forbidden, code: "forbidden", message: "admins only")
        }
    }
    v1.post("admin/tokens") { request, context -> Response in
        var request = request
        try requireAdmin(context)
        var body = try CommandBody(try await request.jsonBody(), allowed: ["name", "role", "expires"])
        let name = body.string("name")
        let roleText = body.string("role")
        let expires = body.string("expires", required: false)
        let role = roleText.flatMap(Role.init(rawValue:))
        if roleText != nil && role == nil { body.errors.append(FieldError("role", "must be one of \(Role.spelled)")) }
        // Absent or null: the default lifetime (90 days); a token that never expires says so.
        let expiry = TokenExpiry.parse(expires)
        if expiry == nil { body.errors.append(FieldError("expires", "must be \(TokenExpiry.usage)")) }
        let expiresAt = expiry?.expiresAt()
        try body.check()
        do {
            let secret = try await deps.tokens.create(name: name!, role: role!, expiresAt: expiresAt, by: auditActor(context, try context.requirePrincipal()))
            return JSONResponse.make(.created, [
                "name": .string(name!), "role": .string(role!.rawValue), "token": .string(secret),
                "expires_at": expiresAt.map(Render.timestamp) ?? .null,
            ])
        } catch let error as TokenError {
            throw APIError(error == .nameInUse(name!) ? .conflict : .unprocessableContent, code: "token_error", message: error.description)
        }
    }
    v1.get("admin/tokens") { _, context -> Response in
        try requireAdmin(context)
        let tokens = try await deps.tokens.list()
        return JSONResponse.make(.ok, ["tokens": .array(tokens.map { token in
            [
                "name": .string(token.name), "role": .string(token.role.rawValue), "created_at": Render.timestamp(token.createdAt),
                "expires_at": token.expiresAt.map(Render.timestamp) ?? .null, "revoked_at": token.revokedAt.map(Render.timestamp) ?? .null,
            ]
        })])
    }
    v1.delete("admin/tokens/{name}") { _, context -> Response in
        try requireAdmin(context)
        let name = context.parameters.get("name") ?? ""
        do {
            try await deps.tokens.revoke(name: name, by: auditActor(context, try context.requirePrincipal()))
        } catch is TokenError {
            throw APIError(.notFound, code: "not_found", message: "no token named '\(name)'")
        }
        return JSONResponse.make(.ok, ["name": .string(name), "revoked": true])
    }
}

/// `POST /v1/incidents:batch`: NDJSON, one report a line, at most 10,000 lines and 32 MiB. Each
/// line is validated and stored on its own (idempotent like a single report); valid lines are
/// stored even when others are rejected. At most two run at once (each can hold the database
/// for a while); a third is answered 429 with `Retry-After`.
func addBatchRoute(_ v1: RouterGroup<APIContext>, _ deps: AppDependencies) {
    v1.post("incidents:batch") { request, context -> Response in
        var request = request
        let principal = try context.requirePrincipal()
        try IncidentService.authorize(.report, principal)
        guard let slot = deps.batches.tryAcquire() else {
            var error = APIError(.tooManyRequests, code: "too_many_requests", message: "\(deps.batches.limit) batch imports are running; try again shortly")
            error.headers[.retryAfter] = "10"
            throw error
        }
        defer { slot.release() }
        let limit = 32 << 20
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw APIError(.contentTooLarge, code: "payload_too_large", message: "a batch is at most 32 MiB")
        }
        let lines = Data(buffer.readableBytesView).split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        let numbered = lines.enumerated().filter { !$0.element.allSatisfy { $0 == 32 || $0 == 9 || $0 == 13 } }
        guard numbered.count <= 10_000 else {
            throw APIError(.contentTooLarge, code: "too_many_lines", message: "a batch is at most 10,000 lines (got \(numbered.count))")
        }
        guard !numbered.isEmpty else { throw APIError(.badRequest, code: "empty_batch", message: "the batch holds no line") }
        var accepted = 0, replayed = 0
        var rejected: [JSONValue] = []
        func reject(_ index: Int, _ error: any Error) throws {
            let apiError = APIError.from(error, logger: context.logger)
            if apiError.status.code >= 500 { throw error }
            var detail: [String: JSONValue] = ["code": .string(apiError.code), "message": .string(apiError.message)]
            if let details = apiError.details { detail["details"] = details }
            rejected.append(["line": .number(Double(index + 1)), "error": .object(detail)])
        }
        let outcomes = try await deps.service.reportMany(numbered.map { Data($0.element) }, by: principal, metadata: metadata(request, context, principal))
        for ((index, _), outcome) in zip(numbered, outcomes) {
            switch outcome {
            case .success(let written): if written.replayed { replayed += 1 } else { accepted += 1 }
            case .failure(is MalformedLine): try reject(index, APIError(.badRequest, code: "malformed_json", message: "the line is not valid JSON in UTF-8"))
            case .failure(let error): try reject(index, error)
            }
        }
        if accepted > 0 { appendsTotal.increment(by: accepted) }
        return JSONResponse.make(.ok, ["accepted": .number(Double(accepted)), "replayed": .number(Double(replayed)), "rejected": .array(rejected)])
    }
}

/// `GET /v1/events/stream`: the log as Server-Sent Events, live. Each event's `id` is the
/// checkpoint after it, so a client reconnects with `Last-Event-ID` (or `?after=`) and misses
/// nothing. Same visibility as `/v1/events`. A comment line every 2 s of silence keeps proxies
/// open and tells a client that went away (the write fails) from one that listens.
///
/// The stream checks its token again every `streamRecheck` (2 s): once the token is revoked or
/// expired the stream ends (docs/api.md, The live stream). A token has at most four streams
/// open; a fifth is answered 429.
func addStreamRoute(_ v1: RouterGroup<APIContext>, _ deps: AppDependencies) {
    v1.get("events/stream") { request, context -> Response in
        let principal = try context.requirePrincipal()
        guard principal.role != .reporter else {
            throw APIError(.forbidden, code: "forbidden", message: "reporters may not read the log")
        }
        let start = request.headers[.lastEventID] ?? request.uri.queryParameters.get("after") ?? ""
        guard let checkpoint = Checkpoint(token: start) else {
            throw APIError(.badRequest, code: "bad_checkpoint", message: "after is not a checkpoint this server gave out")
        }
        guard let slot = deps.streams.tryAcquire(principal.name) else {
            var error = APIError(.tooManyRequests, code: "too_many_requests", message: "this token has \(deps.streams.limit) streams open already")
            error.headers[.retryAfter] = "5"
            throw error
        }
        let credential = context.credential ?? ""
        let feed = LogFeed(pool: deps.pool, narrative: deps.service.narrative)
        // The body is written after the handler returns, outside the middleware's scope: its
        // statements take the request's limit explicitly.
        let timeout = StatementTimeout.current
        let body = ResponseBody { writer in
            // Held until the stream ends (and, should the body never be written, until it is dropped).
            defer { slot.release() }
            var position = checkpoint
            var idleSince = ContinuousClock.now
            var checkedAt = ContinuousClock.now
            try await writer.write(ByteBuffer(string: ": incident log stream\n\n"))
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                if ContinuousClock.now - checkedAt >= deps.streamRecheck {
                    // Revoked or expired (or its role changed): the stream ends here.
                    let current = try await StatementTimeout.$current.withValue(timeout) { try await deps.tokens.authenticate(credential) }
                    guard current == principal else { break }
                    checkedAt = ContinuousClock.now
                }
                let (events, next) = try await StatementTimeout.$current.withValue(timeout) { [position] in
                    try await feed.page(after: position, limit: 200, for: principal)
                }
                for event in events {
                    let data = Render.event(event, for: principal).encodedString
                    try await writer.write(ByteBuffer(string: "id: \(event.checkpoint.token)\nevent: \(event.type)\ndata: \(data)\n\n"))
                }
                position = next
                if events.isEmpty {
                    // Also how a closed client is noticed (the write fails), so its slot comes free.
                    if ContinuousClock.now - idleSince > deps.streamRecheck {
                        try await writer.write(ByteBuffer(string: ": keepalive\n\n"))
                        idleSince = ContinuousClock.now
                    }
                    try await Task.sleep(for: .milliseconds(200))
                } else {
                    idleSince = ContinuousClock.now
                }
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }
}

extension HTTPField.Name {
    static let lastEventID = Self("Last-Event-ID")!
    /// Why personal data is read (`GET /v1/incidents/{id}?include=personal`).
    static let accessReason = Self("X-Access-Reason")!
}
