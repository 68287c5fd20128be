import Foundation
import Hummingbird
import HummingbirdCore
import IncidentStore
import PostgresLibpq

/// `GET /v1/admin/audit` (admins): the access audit, oldest first, filtered by `since`, `until`,
/// `principal`, `action` and `incident`, in pages of `limit` (at most 1000) with `cursor`.
struct AuditController: Sendable {
    let deps: AppDependencies

    func addRoutes(to v1: some RouterMethods<APIContext>) {
        v1.get("admin/audit", use: page)
    }

    @Sendable func page(_ request: Request, context: APIContext) async throws -> Response {
        _ = try context.requireAdmin("only admins read the access audit")
        let filter = try Self.filter(request.uri.queryParameters)
        let page = try await badQueryOnInvalid { try await deps.pool.withConnection { [filter] in try AccessAudit.page(filter, on: $0) } }
        return JSONResponse.make(.ok, [
            "items": .array(page.items.map(Render.auditRecord)),
            "next_cursor": page.nextCursor.map { .string($0) } ?? .null,
        ])
    }

    static func filter(_ query: FlatDictionary<Substring, Substring>) throws -> AccessAudit.Filter {
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
        return filter
    }
}
