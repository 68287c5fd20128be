import Foundation
import HTTPTypes
import Hummingbird
import IncidentStore
import Logging

/// Headers on every console answer: nothing but this server may supply script, style, images or
/// frames, no page may be framed, and no address leaks in a Referer.
struct ConsoleHeadersMiddleware: RouterMiddleware {
    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] = "default-src 'self'; frame-ancestors 'none'"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.referrerPolicy] = "no-referrer"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }
}

/// The console's answer to anything a page throws: a page, never JSON, with the status the API
/// would give; a 5xx says only that something went wrong (the log has the detail).
struct ConsoleErrorMiddleware: RouterMiddleware {
    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = APIError.from(error, logger: context.logger)
            if apiError.status.code >= 500 { context.logger.error("console page failed", metadata: ["error": "\(String(reflecting: error))"]) }
            let heading = apiError.status.code == 404 ? "Not found" : apiError.status.reasonPhrase
            let message = apiError.status.code >= 500 ? "The server could not answer; try again shortly." : apiError.message
            var response = ConsolePage.render(
                "error", ["title": heading, "heading": heading, "message": message], session: ConsoleSession(context), status: apiError.status)
            for field in apiError.headers where field.name == .retryAfter { response.headers.append(field) }
            return response
        }
    }
}

/// Who is signed in: the session cookie's principal, or a redirect to the sign-in page. A POST
/// must carry the session's form token (`csrf`), so another site cannot submit a form as the user.
struct ConsoleSessionMiddleware: RouterMiddleware {
    static let cookie = "il_session"
    let sessions: ConsoleSessions

    func handle(_ request: Request, context: APIContext, next: (Request, APIContext) async throws -> Response) async throws -> Response {
        guard let secret = request.cookies[Self.cookie]?.value, let principal = try await sessions.principal(secret: secret) else {
            return Self.toLogin(from: request)
        }
        guard [.analyst, .reviewer, .admin].contains(principal.role) else { return Self.toLogin(from: request) }
        var context = context
        context.principal = principal
        context.consoleSecret = secret
        context.logger[metadataKey: "principal"] = "\(principal.name)"
        return try await next(request, context)
    }

    /// A GET goes back where it was after signing in; anything else starts from the overview.
    static func toLogin(from request: Request) -> Response {
        let path = request.method == .get ? request.uri.description : "/"
        let next = path.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "%2F"
        return Response(status: .seeOther, headers: [.location: "/login?next=" + next])
    }
}

/// The signed-in user as a page shows them, and the token its forms carry.
struct ConsoleSession: Sendable {
    var principal: Principal
    var formToken: String

    init?(_ context: APIContext) {
        guard let principal = context.principal, let secret = context.consoleSecret else { return nil }
        (self.principal, self.formToken) = (principal, ConsoleSessions.formToken(secret: secret))
    }

    /// The session of a request behind ``ConsoleSessionMiddleware``; 403 without one, so a form
    /// is never taken on trust.
    static func require(_ context: APIContext) throws -> ConsoleSession {
        guard let session = ConsoleSession(context) else {
            throw APIError(.forbidden, code: "csrf_failed", message: "This form needs a signed-in session; sign in and try again.")
        }
        return session
    }

    var canReview: Bool { principal.role == .reviewer || principal.role == .admin }

    /// Refuses a form without this session's token.
    func checkForm(_ form: ConsoleForm) throws {
        guard let sent = form["csrf"], AccessTokens.constantTimeEqual(Array(sent.utf8), Array(formToken.utf8)) else {
            throw APIError(.forbidden, code: "csrf_failed", message: "This form has expired or did not come from this console; reload the page and try again.")
        }
    }

    var templateValues: [String: Any] {
        ["name": principal.name, "role": principal.role.rawValue, "csrf": formToken, "canReview": canReview, "isAdmin": principal.role == .admin]
    }
}

extension HTTPField.Name {
    static let referrerPolicy = Self("Referrer-Policy")!
}
