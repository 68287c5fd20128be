import Foundation
import Hummingbird
import IncidentStore
import NIOCore
import PostgresLibpq
import ServiceLifecycle

/// `GET /v1/events` (the log in pages) and `GET /v1/events/stream` (the log live, as Server-Sent
/// Events), both as ``LogFeed`` lets the principal read it. Reporters may not read the log.
struct EventLogController: Sendable {
    let deps: AppDependencies

    func addRoutes(to v1: some RouterMethods<APIContext>) {
        v1.get("events", use: page)
        v1.get("events/stream", use: stream)
    }

    var feed: LogFeed { LogFeed(reads: deps.service.reads, narrative: deps.service.narrative) }

    static func checkpoint(_ token: String?) throws -> Checkpoint {
        guard let checkpoint = Checkpoint(token: token ?? "") else {
            throw APIError(.badRequest, code: "bad_checkpoint", message: "after is not a checkpoint this server gave out")
        }
        return checkpoint
    }

    @Sendable func page(_ request: Request, context: APIContext) async throws -> Response {
        let principal = try context.requireLogReader()
        let query = request.uri.queryParameters
        let checkpoint = try Self.checkpoint(query.get("after"))
        var limit = 100
        if let text = query.get("limit") {
            guard let value = Int(text), (1...1000).contains(value) else {
                throw APIError(.badRequest, code: "bad_request", message: "limit must be a whole number from 1 to 1000")
            }
            limit = value
        }
        let (events, next) = try await feed.page(after: checkpoint, limit: limit, for: principal)
        return JSONResponse.make(.ok, ["events": .array(events.map { Render.event($0, for: principal) }), "checkpoint": .string(next.token)])
    }

    /// Each event's `id` is the checkpoint after it, so a client reconnects with `Last-Event-ID`
    /// (or `?after=`) and misses nothing. A comment line every 2 s of silence keeps proxies open
    /// and tells a client that went away (the write fails) from one that listens. The stream
    /// checks its token again every `streamRecheck`: once the token is revoked or expired the
    /// stream ends (docs/api.md, The live stream). A token has at most four streams open; a fifth
    /// is answered 429.
    @Sendable func stream(_ request: Request, context: APIContext) async throws -> Response {
        let principal = try context.requireLogReader()
        let checkpoint = try Self.checkpoint(request.headers[.lastEventID] ?? request.uri.queryParameters.get("after"))
        let slot = try deps.streams.acquire(principal.name, refusing: "this token has \(deps.streams.limit) streams open already", retryAfter: 5)
        let follow = LiveStream(
            deps: deps, feed: feed, principal: principal, credential: context.credential ?? "",
            // The body is written after the handler returns, outside the middleware's scope: its
            // statements take the request's limit explicitly.
            timeout: StatementTimeout.current)
        let body = ResponseBody { writer in
            // Held until the stream ends (and, should the body never be written, until it is dropped).
            defer { slot.release() }
            try await follow.write(from: checkpoint, to: &writer)
        }
        return Response(status: .ok, headers: [.contentType: "text/event-stream", .cacheControl: "no-cache"], body: body)
    }
}

/// The log as a principal may read it (``Disclosure``): events of incidents that ever were
/// confidential are left out for everyone but admins; personal data never appears; free text is
/// opened (or reads `[redacted]` where its key was destroyed). From a hot standby when there is
/// one: its commit-safe order holds there too (a standby counts every transaction the primary
/// started before the last one it saw as running until it sees the end of it).
struct LogFeed: Sendable {
    let reads: ReadRouting
    let narrative: NarrativeVault

    func page(after checkpoint: Checkpoint, limit: Int, for principal: Principal) async throws -> ([RecordedEvent], Checkpoint) {
        try await reads.withConnection { [narrative] connection in
            let page = try EventStore.read(after: checkpoint, limit: limit, on: connection)
            guard !Disclosure.readsWholeLog(principal), !page.events.isEmpty else { return (try narrative.open(page.events, on: connection), page.checkpoint) }
            let hidden = try Disclosure.hiddenStreams(Array(Set(page.events.map(\.stream))), on: connection)
            return (try narrative.open(page.events.filter { !hidden.contains($0.stream) }, on: connection), page.checkpoint)
        }
    }
}
