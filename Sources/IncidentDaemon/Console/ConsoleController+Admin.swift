import Foundation
import Hummingbird
import IncidentStore
import PostgresLibpq

// `/admin` (admins): tokens, projections and their rebuild, the access audit. The rows are the
// API's own (`TokenController.row`, `ProjectionController.statusRows`, `Render.auditRecord`).
extension ConsoleController {
    @Sendable func admin(_ request: Request, context: APIContext) async throws -> Response {
        try await adminPage(request, context, message: nil, created: nil)
    }

    func adminPage(_ request: Request, _ context: APIContext, message: String?, created: (name: String, secret: String)?) async throws -> Response {
        _ = try context.requireAdmin("The admin page is for admins.")
        let query = ConsoleForm.query(request)
        var values: [String: Any] = [
            "title": "Admin", "roles": Role.allCases.map(\.rawValue),
            "tokens": try await deps.tokens.list().map { TokenController.row($0).mustacheValue },
            "projections": try await ProjectionController(deps: deps).statusRows().map(\.mustacheValue), "audit": query.values,
        ]
        var filter = try AuditController.filter(Self.nonEmpty(query))
        filter.limit = 50
        let audit = try await badQueryOnInvalid { try await deps.pool.withConnection { [filter] in try AccessAudit.page(filter, on: $0) } }
        values["records"] = audit.items.map { Render.auditRecord($0).mustacheValue }
        if let cursor = audit.nextCursor {
            var next = query.values.filter { !$0.value.isEmpty }
            next["cursor"] = cursor
            values["nextAudit"] = "/admin?" + Self.encoded(next)
        }
        if let message { values["message"] = message }
        if let created { values["created"] = ["name": created.name, "secret": created.secret] }
        return ConsolePage.render("admin", values, session: ConsoleSession(context))
    }

    @Sendable func createToken(_ request: Request, context: APIContext) async throws -> Response {
        let principal = try context.requireAdmin("Only admins make tokens.")
        let form = try await ConsoleForm.read(request)
        try ConsoleSession.require(context).checkForm(form)
        guard let name = form.text("name"), let role = form["role"].flatMap(Role.init(rawValue:)) else {
            return try await adminPage(request, context, message: "A token needs a name and a role.", created: nil)
        }
        let days = form.text("days").flatMap(Int.init) ?? 90
        guard (1...3650).contains(days) else { return try await adminPage(request, context, message: "A token lasts 1 to 3,650 days.", created: nil) }
        do {
            let secret = try await deps.tokens.create(
                name: name, role: role, expiresAt: Date().addingTimeInterval(Double(days) * 86_400), by: auditActor(context, principal))
            return try await adminPage(request, context, message: nil, created: (name, secret))
        } catch let error as TokenError {
            return try await adminPage(request, context, message: error.description, created: nil)
        }
    }

    @Sendable func revokeToken(_ request: Request, context: APIContext) async throws -> Response {
        let principal = try context.requireAdmin("Only admins revoke tokens.")
        let form = try await ConsoleForm.read(request)
        try ConsoleSession.require(context).checkForm(form)
        do {
            try await deps.tokens.revoke(name: context.parameters.get("name") ?? "", by: auditActor(context, principal))
        } catch let error as TokenError {
            return try await adminPage(request, context, message: error.description, created: nil)
        }
        return ConsolePage.redirect(to: "/admin")
    }

    @Sendable func rebuild(_ request: Request, context: APIContext) async throws -> Response {
        let principal = try context.requireAdmin("Only admins rebuild projections.")
        let form = try await ConsoleForm.read(request)
        try ConsoleSession.require(context).checkForm(form)
        _ = try await ProjectionController(deps: deps).startRebuild(named: context.parameters.get("name") ?? "", by: auditActor(context, principal))
        return ConsolePage.redirect(to: "/admin")
    }
}

extension JSONValue {
    /// The value as Mustache reads it: objects and arrays as Swift collections, null as absent.
    var mustacheValue: Any {
        switch self {
        case .null: return [String: Any]()
        case .bool(let value): return value
        case .number(let value): return value == value.rounded() && abs(value) < 1e15 ? Int(value) as Any : value
        case .string(let value): return value
        case .array(let items): return items.map(\.mustacheValue)
        case .object(let members): return members.compactMapValues { $0 == .null ? nil : $0.mustacheValue }
        }
    }
}
