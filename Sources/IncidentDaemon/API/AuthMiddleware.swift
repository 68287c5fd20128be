import Foundation
import Logging
import Hummingbird
import IncidentStore

/// Authenticates `Authorization: Bearer <token>`; the token itself is never logged.
struct AuthMiddleware: RouterMiddleware {
    let tokens: AccessTokens

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        guard let header = request.headers[.authorization] else {
            throw APIError(.unauthorized, code: "unauthorized", message: "a bearer token is required (Authorization: Bearer <token>)")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer",
              let principal = try await tokens.authenticate(String(parts[1]).trimmingCharacters(in: .whitespaces))
        else {
            throw APIError(.unauthorized, code: "unauthorized", message: "the token is unknown, revoked or expired")
        }
        var context = context
        context.principal = principal
        context.logger[metadataKey: "principal"] = "\(principal.name)"
        return try await next(request, context)
    }
}
