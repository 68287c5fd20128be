import Foundation
import Hummingbird
import IncidentStore
import PostgresLibpq

/// Everything the controllers need.
struct AppDependencies: Sendable {
    let pool: ConnectionPool
    let service: IncidentService
    let tokens: AccessTokens
    /// The read models the projector keeps and admins may rebuild.
    let projections: [any Projection]
    /// Where rebuilds run; nil (tests of other things): the rebuild route answers 503.
    var rebuilds: RebuildService? = nil
    /// A request body from which no byte arrives for this long is given up (408).
    var bodyStall: Duration = .seconds(20)
    /// The keys of the sealed offline outbox; nil (tests of other things): its routes answer 503.
    var outbox: OutboxKeys? = nil
    /// Failed authentications per client address (docs/api.md, Authentication and roles).
    var authFailures = AuthFailureLimiter()
    /// The `statement_timeout` of every statement an API request runs; nil: none of the API's own.
    var statementTimeout: Duration? = .seconds(10)
    /// Batch imports running at once.
    var batches = ConcurrencyLimit(limit: 2)
    /// Open event streams per token (by its name).
    var streams = ConcurrencyLimit(limit: 4)
    /// How often an open stream checks that its token is still valid (revoked, expired).
    var streamRecheck: Duration = .seconds(2)
    /// The console's cookies say `Secure`: set when the daemon serves HTTPS, or behind a proxy
    /// that does (`serve --secure-cookies`).
    var secureCookies = false
    /// The console's list downloads running at once (each holds up to 50,000 rows in memory).
    var downloads = ConcurrencyLimit(limit: 2)
    /// Subscriptions: their definitions and delivery state (docs/subscriptions.md).
    let subscriptions: Subscriptions
    /// Where webhooks may go (`serve --allow-webhook-host`).
    var webhooks = WebhookPolicy()
}

/// The router of the whole API (docs/api.md), built the same way by `serve` and the tests: the
/// open routes, then `/v1` behind authentication with one controller per resource, and the web
/// console (docs/console.md) at the root.
func buildRouter(_ deps: AppDependencies) -> Router<APIContext> {
    let router = Router(context: APIContext.self)
    // Metrics outside the error middleware: they count the answers clients got (a 405 is a 405).
    router.add(middleware: MetricsMiddleware())
    router.add(middleware: ErrorMiddleware())
    router.add(middleware: StatementTimeoutMiddleware(timeout: deps.statementTimeout))
    HealthController(deps: deps).addRoutes(to: router)

    let v1 = router.group("v1")
        .add(middleware: AuthMiddleware(tokens: deps.tokens, failures: deps.authFailures))
        .add(middleware: BodyDeadlineMiddleware(stall: deps.bodyStall))
        .add(middleware: OutboxKeyHeaderMiddleware(deps))
    ReferenceController(deps: deps).addRoutes(to: v1)
    IncidentController(deps: deps).addRoutes(to: v1)
    BatchController(deps: deps).addRoutes(to: v1)
    EventLogController(deps: deps).addRoutes(to: v1)
    TokenController(deps: deps).addRoutes(to: v1)
    SummaryController(deps: deps).addRoutes(to: v1)
    ProjectionController(deps: deps).addRoutes(to: v1)
    OutboxController(deps: deps).addRoutes(to: v1)
    AuditController(deps: deps).addRoutes(to: v1)
    SubscriptionController(deps: deps).addRoutes(to: v1)
    ConsoleController(deps: deps).addRoutes(to: router)
    return router
}
