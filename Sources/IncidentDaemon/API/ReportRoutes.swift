import Foundation
import Hummingbird
import IncidentStore
import Logging
import PostgresLibpq

/// `GET /v1/summaries` and `GET /v1/digests/weekly`: figures from the read models.
func addReportRoutes(_ v1: RouterGroup<APIContext>, _ deps: AppDependencies) {
    v1.get("summaries") { request, context -> Response in
        let principal = try context.requirePrincipal()
        let query = request.uri.queryParameters
        let summary = try await badQueryOnInvalid {
            try await deps.service.summary(
                level: query.get("level"), since: query.get("since"), until: query.get("until"), category: query.get("category"), for: principal
            )
        }
        return JSONResponse.make(.ok, summary.json)
    }
    v1.get("digests/weekly") { request, context -> Response in
        let principal = try context.requirePrincipal()
        let week = request.uri.queryParameters.get("week")
        let digest = try await badQueryOnInvalid { try await deps.service.weeklyDigest(week: week, for: principal) }
        return JSONResponse.make(.ok, try JSONValue(encoding: digest))
    }
}

/// Runs a query whose parameters the service validates: invalid ones are a 400 naming each.
func badQueryOnInvalid<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch ServiceError.invalid(let failure) {
        let fields = JSONValue.array(failure.errors.map { ["field": .string($0.field), "message": .string($0.message)] })
        throw APIError(.badRequest, code: "bad_filter", message: failure.description, details: ["fields": fields])
    }
}

/// `POST /v1/admin/projections/{name}:rebuild` and `GET /v1/admin/projections` (status).
func addProjectionRoutes(_ v1: RouterGroup<APIContext>, _ deps: AppDependencies) {
    @Sendable func projection(named name: String) throws -> any Projection {
        guard let projection = deps.projections.first(where: { $0.name == name }) else {
            throw APIError(.notFound, code: "not_found", message: "no projection named '\(name)'; one of \(deps.projections.map(\.name).joined(separator: ", "))")
        }
        return projection
    }
    v1.post("admin/projections/{name}:rebuild") { _, context -> Response in
        let principal = try context.requirePrincipal()
        guard principal.role == .admin else {
            throw APIError(.forbidden, code: "forbidden", message: "only admins rebuild projections")
        }
        let target = try projection(named: context.parameters.get("name") ?? "")
        guard let rebuilds = deps.rebuilds else {
            throw APIError(.serviceUnavailable, code: "unavailable", message: "this daemon runs no rebuilds")
        }
        do {
            try await rebuilds.start(target, by: auditActor(context, principal))
        } catch let error as ProjectionRebuild.Failure {
            throw APIError(.conflict, code: "rebuild_running", message: error.description)
        }
        return JSONResponse.make(.accepted, ["projection": .string(target.name), "status": "rebuilding"])
    }
    v1.get("admin/projections") { _, context -> Response in
        guard try context.requirePrincipal().role == .admin else {
            throw APIError(.forbidden, code: "forbidden", message: "admins only")
        }
        let projections = deps.projections
        let rows = try await deps.pool.withConnection { connection in
            try projections.map { projection -> JSONValue in
                let position = try projection.position(on: connection)
                let status = try ProjectionRebuild.status(projection, on: connection)
                return [
                    "name": .string(projection.name),
                    "checkpoint": .string(position.checkpoint.token),
                    "as_of": .number(Double(position.asOf)),
                    "lag": .number(Double(try projection.lag(on: connection))),
                    "rebuilding": .bool(status.running),
                    "rebuild_position": status.running ? status.shadowPosition.map { .number(Double($0)) } ?? .null : .null,
                    // Fractional seconds: ictl tells a new rebuild from the last one by this value.
                    "rebuilt_at": status.rebuiltAt.map { .string(Date.ISO8601FormatStyle(includingFractionalSeconds: true).format($0)) } ?? .null,
                ]
            }
        }
        return JSONResponse.make(.ok, ["projections": .array(rows)])
    }
}
