import Hummingbird
import IncidentStore

/// `GET /v1/summaries` and `GET /v1/digests/weekly`: figures from the read models.
struct SummaryController: Sendable {
    let deps: AppDependencies

    func addRoutes(to v1: some RouterMethods<APIContext>) {
        v1.get("summaries", use: summary)
        v1.get("digests/weekly", use: weeklyDigest)
    }

    @Sendable func summary(_ request: Request, context: APIContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let query = request.uri.queryParameters
        let summary = try await badQueryOnInvalid {
            try await deps.service.summary(
                level: query.get("level"), since: query.get("since"), until: query.get("until"), category: query.get("category"), for: principal
            )
        }
        return JSONResponse.make(.ok, summary.json)
    }

    @Sendable func weeklyDigest(_ request: Request, context: APIContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let week = request.uri.queryParameters.get("week")
        let digest = try await badQueryOnInvalid { try await deps.service.weeklyDigest(week: week, for: principal) }
        return JSONResponse.make(.ok, try JSONValue(encoding: digest))
    }
}
