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
        return JSONResponse.make(
            .ok,
            [
                "items": .array(page.items.map(Render.auditRecord)),
                "next_cursor": page.nextCursor.map { .string($0) } ?? .null,
            ])
    }

    static func filter(_ query: FlatDictionary<Substring, Substring>) throws -> AccessAudit.Filter {
        try listFilter(
            AccessAudit.Filter(), from: query,
            text: ["since": \.since, "until": \.until, "principal": \.principal, "action": \.action, "incident": \.incident, "cursor": \.cursor],
            limit: \.limit
        ) {
            APIError(
                .badRequest, code: "bad_filter", message: "limit must be a whole number from 1 to \(AccessAudit.maximumPageSize)",
                details: ["fields": [["field": "limit", "message": "must be a whole number"]]])
        }
    }
}
