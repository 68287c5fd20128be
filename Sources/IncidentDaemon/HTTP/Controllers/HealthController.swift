import Hummingbird
import IncidentStore
import PostgresLibpq

/// `GET /healthz`, `GET /readyz` and `GET /v1/openapi.json`: open to anyone, no token.
struct HealthController: Sendable {
    let deps: AppDependencies

    func addRoutes(to router: some RouterMethods<APIContext>) {
        router.get("/healthz") { _, _ in JSONResponse.make(.ok, ["status": "ok"]) }
        router.get("/v1/openapi.json") { _, _ in JSONResponse.make(.ok, OpenAPI.document) }
        router.get("/readyz", use: ready)
    }

    /// Ready when the database answers and every migration is applied.
    @Sendable func ready(_ request: Request, context: APIContext) async throws -> Response {
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
}
