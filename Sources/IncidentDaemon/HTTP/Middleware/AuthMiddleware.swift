import Foundation
import HTTPTypes
import Hummingbird
import IncidentStore
import Logging

/// Authenticates `Authorization: Bearer <token>`; the token itself is never logged.
///
/// An address with too many failed authentications (``AuthFailureLimiter``) is answered 429
/// before its token is looked up. Tokens of role `metrics` read `/metrics` only: every `/v1`
/// route refuses them.
struct AuthMiddleware: RouterMiddleware {
    let tokens: AccessTokens
    let failures: AuthFailureLimiter

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        let (principal, credential) = try await Self.authenticate(request, context: context, tokens: tokens, failures: failures)
        guard principal.role != .metrics else {
            throw APIError(.forbidden, code: "forbidden", message: "metrics tokens may read /metrics only")
        }
        var context = context
        context.principal = principal
        context.credential = credential
        context.logger[metadataKey: "principal"] = "\(principal.name)"
        return try await next(request, context)
    }

    /// The principal of the request's bearer token, and the token.
    /// - Throws: 429 `too_many_requests` (with `Retry-After`) for a refused address, without
    ///   looking anything up; 401 `unauthorized` otherwise. A token presented and not found
    ///   counts as a failure of the address; a request without any token does not (it guesses nothing).
    static func authenticate(_ request: Request, context: APIContext, tokens: AccessTokens, failures: AuthFailureLimiter) async throws -> (Principal, String) {
        if let wait = failures.refusal(for: context.clientAddress) {
            var error = APIError(.tooManyRequests, code: "too_many_requests", message: "too many failed authentications from this address; try again later")
            error.headers[.retryAfter] = String(max(1, wait.components.seconds + (wait.components.attoseconds > 0 ? 1 : 0)))
            throw error
        }
        guard let header = request.headers[.authorization] else {
            throw APIError(.unauthorized, code: "unauthorized", message: "a bearer token is required (Authorization: Bearer <token>)")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        let secret = parts.count == 2 ? String(parts[1].trimmingSpaces) : ""
        guard parts.count == 2, parts[0].lowercased() == "bearer", let principal = try await tokens.authenticate(secret) else {
            failures.recordFailure(from: context.clientAddress)
            throw APIError(.unauthorized, code: "unauthorized", message: "the token is unknown, revoked or expired")
        }
        return (principal, secret)
    }
}

extension StringProtocol {
    /// Without leading and trailing spaces and tabs (Foundation's `trimmingCharacters` goes through
    /// NSString, which costs more than the rest of the check).
    var trimmingSpaces: SubSequence {
        let isSpace = { (c: Character) in c == " " || c == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }) else { return self[endIndex...] }
        let last = lastIndex(where: { !isSpace($0) })!
        return self[first...last]
    }
}
