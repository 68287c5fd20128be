import Hummingbird
import IncidentStore
import PostgresLibpq

/// Runs every request with the API's `statement_timeout` (docs/operations.md, Limits): each statement the
/// request runs through the pool is cut by the server after `timeout`, which the API answers
/// 503 `database_timeout`. Work outside requests (the projector, rebuilds) does not run under it.
struct StatementTimeoutMiddleware<Context: RequestContext>: RouterMiddleware {
    /// nil: no limit of the API's own (the database's settings apply).
    let timeout: Duration?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try await StatementTimeout.$current.withValue(timeout) { try await next(request, context) }
    }
}
