import Foundation
import Hummingbird
import IncidentStore
import PostgresLibpq

/// Who acts in a request, as the access audit records it.
func auditActor(_ context: APIContext, _ principal: Principal) -> AccessAudit.Actor {
    AccessAudit.Actor(principal: principal.name, role: principal.role.rawValue, requestID: context.id, clientAddress: context.clientAddress)
}

/// `GET /v1/admin/audit` (admins): the access audit, oldest first, filtered by `since`, `until`,
/// `principal`, `action` and `incident`, in pages of `limit` (at most 1000) with `cursor`.
func addAuditRoutes(_ v1: RouterGroup<APIContext>, _ deps: AppDependencies) {
    v1.get("admin/audit") { request, context -> Response in
        guard try context.requirePrincipal().role == .admin else {
            throw APIError(.forbidden, code: "forbidden", message: "only admins read the access audit")
        }
        let query = request.uri.queryParameters
        var filter = AccessAudit.Filter()
        filter.since = query.get("since")
        filter.until = query.get("until")
        filter.principal = query.get("principal")
        filter.action = query.get("action")
        filter.incident = query.get("incident")
        filter.cursor = query.get("cursor")
        if let limit = query.get("limit") {
            guard let value = Int(limit) else {
                throw APIError(.badRequest, code: "bad_filter", message: "limit must be a whole number from 1 to \(AccessAudit.maximumPageSize)",
                               details: ["fields": [["field": "limit", "message": "must be a whole number"]]])
            }
            filter.limit = value
        }
        let page: AccessAudit.Page
        do {
            page = try await deps.pool.withConnection { [filter] in try AccessAudit.page(filter, on: $0) }
        } catch ServiceError.invalid(let failure) {
            let fields = JSONValue.array(failure.errors.map { ["field": .string($0.field), "message": .string($0.message)] })
            throw APIError(.badRequest, code: "bad_filter", message: failure.description, details: ["fields": fields])
        }
        return JSONResponse.make(.ok, [
            "items": .array(page.items.map(Render.auditRecord)),
            "next_cursor": page.nextCursor.map { .string($0) } ?? .null,
        ])
    }
}

extension Render {
    static func auditRecord(_ record: AccessAudit.Record) -> JSONValue {
        func text(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
        return [
            "id": .number(Double(record.id)),
            "at": timestamp(record.at),
            "principal": .string(record.principal),
            "role": .string(record.role),
            "action": .string(record.action),
            "incident_id": text(record.incidentID?.lowercasedText),
            "target": text(record.target),
            "reason": text(record.reason),
            "request_id": text(record.requestID),
            "client_address": text(record.clientAddress),
        ]
    }
}
