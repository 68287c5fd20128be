import Foundation
import Hummingbird
import IncidentStore
import PostgresLibpq

/// `GET /v1/admin/projections` (status) and `POST /v1/admin/projections/{name}:rebuild` (admins).
struct ProjectionController: Sendable {
    let deps: AppDependencies

    func addRoutes(to v1: some RouterMethods<APIContext>) {
        v1.post("admin/projections/{name}:rebuild", use: rebuild)
        v1.get("admin/projections", use: status)
    }

    func projection(named name: String) throws -> any Projection {
        guard let projection = deps.projections.first(where: { $0.name == name }) else {
            throw APIError(.notFound, code: "not_found", message: "no projection named '\(name)'; one of \(deps.projections.map(\.name).joined(separator: ", "))")
        }
        return projection
    }

    @Sendable func rebuild(_ request: Request, context: APIContext) async throws -> Response {
        let principal = try context.requireAdmin("only admins rebuild projections")
        let target = try await startRebuild(named: context.parameters.get("name") ?? "", by: auditActor(context, principal))
        return JSONResponse.make(.accepted, ["projection": .string(target.name), "status": "rebuilding"])
    }

    /// Starts a rebuild of the projection `name` (for the API and the console alike).
    /// - Throws: 404 for an unknown name, 409 `rebuild_running`, 503 when this daemon runs no rebuilds.
    func startRebuild(named name: String, by actor: AccessAudit.Actor) async throws -> any Projection {
        let target = try projection(named: name)
        guard let rebuilds = deps.rebuilds else {
            throw APIError(.serviceUnavailable, code: "unavailable", message: "this daemon runs no rebuilds")
        }
        do {
            try await rebuilds.start(target, by: actor)
        } catch let error as ProjectionRebuild.Failure {
            throw APIError(.conflict, code: "rebuild_running", message: error.description)
        }
        return target
    }

    @Sendable func status(_ request: Request, context: APIContext) async throws -> Response {
        _ = try context.requireAdmin()
        return JSONResponse.make(.ok, ["projections": .array(try await statusRows())])
    }

    /// Each projection's position, lag and rebuild state, as the API and the console's admin page show them.
    func statusRows() async throws -> [JSONValue] {
        let projections = deps.projections
        return try await deps.pool.withConnection { connection in
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
    }
}
