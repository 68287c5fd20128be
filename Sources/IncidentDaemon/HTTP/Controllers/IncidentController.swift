import Foundation
import Hummingbird
import HummingbirdCore
import IncidentStore
import PostgresLibpq

/// `/v1/incidents` and `/v1/incidents/{id}…`: report, list, read, and the commands on one incident.
/// The four writes ictl may queue run in ``IncidentWrite``, which the outbox's delivery calls too.
struct IncidentController: Sendable {
    let deps: AppDependencies

    func addRoutes(to v1: some RouterMethods<APIContext>) {
        v1.post("incidents") { request, context in try await IncidentWrite.report.run(try IncidentWrite.Input(request, context), deps) }
        v1.get("incidents", use: list)
        v1.get("incidents/{id}", use: show)
        v1.post("incidents/{id}/amendments") { request, context in try await IncidentWrite.amendment.run(try IncidentWrite.Input(request, context), deps) }
        v1.post("incidents/{id}/verification") { request, context in try await IncidentWrite.verification.run(try IncidentWrite.Input(request, context), deps) }
        v1.post("incidents/{id}/retraction") { request, context in try await IncidentWrite.retraction.run(try IncidentWrite.Input(request, context), deps) }
        v1.post("incidents/{id}/personal-data:erase", use: erase)
        v1.post("incidents/{id}/narrative:redact", use: redact)
    }

    @Sendable func list(_ request: Request, context: APIContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let filter = try Self.filter(request.uri.queryParameters)
        let page = try await badQueryOnInvalid { try await deps.service.list(filter, for: principal) }
        return JSONResponse.make(
            .ok,
            [
                "items": .array(page.items.map { Render.incident($0.state, personal: nil, events: nil, for: principal) }),
                "next_cursor": page.nextCursor.map { .string($0) } ?? .null,
            ])
    }

    /// The list's query parameters; the service validates their values.
    static func filter(_ query: FlatDictionary<Substring, Substring>) throws -> IncidentFilter {
        try listFilter(
            IncidentFilter(), from: query,
            text: [
                "municipality": \.municipality, "district": \.district, "category": \.category, "subcategory": \.subcategory,
                "status": \.status, "since": \.since, "until": \.until, "q": \.q, "cursor": \.cursor,
            ],
            limit: \.limit
        ) {
            APIError(.badRequest, code: "bad_request", message: "limit must be a whole number from 1 to \(IncidentService.maximumPageSize)")
        }
    }

    @Sendable func show(_ request: Request, context: APIContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let values = request.uri.queryParameters.getAll("history")
        guard values.allSatisfy({ $0 == "true" || $0 == "false" }) else {
            throw APIError(.badRequest, code: "bad_parameter", message: "history must be true or false")
        }
        let personal = try personalDataRead(request, context, principal)
        let view = try await deps.service.incident(try incidentID(context), history: values.last == "true", for: principal, personal: personal)
        return JSONResponse.make(.ok, Render.incident(view.state, personal: view.personal, events: view.events, for: principal))
    }

    /// Personal data only when asked for, by an admin, with a reason (docs/api.md, Reading incidents).
    func personalDataRead(_ request: Request, _ context: APIContext, _ principal: Principal) throws -> IncidentService.PersonalDataRead? {
        let include = request.uri.queryParameters.getAll("include").flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }
        guard include.allSatisfy({ $0 == "personal" }) else {
            throw APIError(.badRequest, code: "bad_parameter", message: "include may only be personal")
        }
        if !include.isEmpty {
            try IncidentService.authorize(.readPersonalData, principal)
            let reason = try AccessAudit.accessReason(request.headers[.accessReason])
            return .init(by: auditActor(context, principal), reason: reason)
        }
        if let reason = request.headers[.accessReason] {
            // A reason given is checked even when nothing asks for it: a malformed header is an error.
            _ = try AccessAudit.accessReason(reason)
        }
        return nil
    }

    @Sendable func erase(_ request: Request, context: APIContext) async throws -> Response {
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

    @Sendable func redact(_ request: Request, context: APIContext) async throws -> Response {
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
