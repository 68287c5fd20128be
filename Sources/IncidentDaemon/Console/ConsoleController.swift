import Foundation
import HTTPTypes
import Hummingbird
import IncidentRendering
import IncidentStore

/// The web console (docs/console.md): server-rendered pages on the API's port, calling the same
/// service methods as the API, so roles, visibility, disclosure control and the audit are the
/// API's own. Works without script; every form that changes anything carries the session's
/// form token.
struct ConsoleController: Sendable {
    let deps: AppDependencies
    var sessions: ConsoleSessions { ConsoleSessions(pool: deps.pool) }
    /// The cookie that carries the sign-in form's token before there is a session.
    static let loginCookie = "il_login"

    func addRoutes(to router: Router<APIContext>) {
        let open = router.group().add(middleware: ConsoleHeadersMiddleware()).add(middleware: ConsoleErrorMiddleware())
            .add(middleware: BodyDeadlineMiddleware(stall: deps.bodyStall))
        open.get("assets/console.css") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "text/css; charset=utf-8", .cacheControl: "max-age=3600"], body: .init(byteBuffer: .init(string: ConsoleAssets.css)))
        }
        open.get("login", use: loginPage)
        open.get("about/map-data") { _, context in
            ConsolePage.render("map-data", ["title": "Map data", "notice": MunicipalityMap.licenceNotice], session: ConsoleSession(context))
        }
        open.post("login", use: login)
        let pages = open.add(middleware: ConsoleSessionMiddleware(sessions: sessions))
        pages.post("logout", use: logout)
        pages.get("", use: overview)
        pages.get("incidents", use: incidents)
        pages.get("incidents.csv", use: downloadCSV)
        pages.get("incidents.hxl", use: downloadHXL)
        pages.get("incidents/:id", use: incident)
        pages.post("incidents/:id/decision", use: decide)
        pages.post("incidents/:id/retraction", use: retract)
        pages.post("incidents/:id/amendment", use: amend)
        pages.get("review", use: review)
        pages.get("digests", use: digests)
        pages.get("digests/:file", use: digestFile)
        pages.get("admin", use: admin)
        pages.post("admin/tokens", use: createToken)
        pages.post("admin/tokens/:name/revocation", use: revokeToken)
        pages.post("admin/projections/:name/rebuild", use: rebuild)
    }

    @Sendable func loginPage(_ request: Request, context: APIContext) async throws -> Response {
        loginForm(next: ConsoleForm.query(request)["next"], message: nil, status: .ok)
    }

    /// The sign-in form, with a fresh form token in its cookie (double submit: a form posted from
    /// elsewhere cannot know it).
    func loginForm(next: String?, message: String?, status: HTTPResponse.Status) -> Response {
        let formToken = ConsoleSessions.newFormToken()
        var values: [String: Any] = ["title": "Sign in", "formToken": formToken, "next": Self.safeNext(next)]
        if let message { values["message"] = message }
        var response = ConsolePage.render("login", values, session: nil, status: status)
        response.setCookie(Cookie(name: Self.loginCookie, value: formToken, maxAge: 3600, path: "/login", secure: deps.secureCookies, httpOnly: true, sameSite: .strict))
        return response
    }

    @Sendable func login(_ request: Request, context: APIContext) async throws -> Response {
        // No sign-in form was fetched: nothing is read from whoever sent this.
        guard request.cookies[Self.loginCookie] != nil else {
            return loginForm(next: nil, message: "The sign-in form expired; please sign in again.", status: .forbidden)
        }
        let form = try await ConsoleForm.read(request)
        guard let sent = form["csrf"], let expected = request.cookies[Self.loginCookie]?.value,
            AccessTokens.constantTimeEqual(Array(sent.utf8), Array(expected.utf8))
        else {
            return loginForm(next: form["next"], message: "The sign-in form expired; please sign in again.", status: .forbidden)
        }
        if let wait = deps.authFailures.refusal(for: context.clientAddress) {
            return loginForm(
                next: form["next"], message: "Too many failed sign-ins from this address; try again in \(wait.components.seconds + 1) s.", status: .tooManyRequests)
        }
        guard let token = form.text("token"), let principal = try await deps.tokens.authenticate(token) else {
            deps.authFailures.recordFailure(from: context.clientAddress)
            return loginForm(next: form["next"], message: "That token is unknown, revoked or expired.", status: .unauthorized)
        }
        guard [.analyst, .reviewer, .admin].contains(principal.role) else {
            return loginForm(
                next: form["next"], message: "The console is for analysts, reviewers and admins; a \(principal.role.rawValue) token works with ictl.", status: .forbidden)
        }
        let secret = try await sessions.open(for: principal.name)
        var response = ConsolePage.redirect(to: Self.safeNext(form["next"]))
        response.setCookie(
            Cookie(name: ConsoleSessionMiddleware.cookie, value: secret, path: "/", secure: deps.secureCookies, httpOnly: true, sameSite: .strict))
        return response
    }

    @Sendable func logout(_ request: Request, context: APIContext) async throws -> Response {
        let form = try await ConsoleForm.read(request)
        try ConsoleSession.require(context).checkForm(form)
        if let secret = context.consoleSecret { try await sessions.close(secret: secret) }
        var response = ConsolePage.redirect(to: "/login")
        response.setCookie(Cookie(name: ConsoleSessionMiddleware.cookie, value: "", maxAge: 0, path: "/", secure: deps.secureCookies, httpOnly: true, sameSite: .strict))
        return response
    }

    /// Where to go after signing in: a path of this console only, never another site. Browsers
    /// drop tabs and line breaks from a URL and read `\` as `/`, so `/<tab>/host` would be another
    /// site: any control character or backslash refuses the path.
    static func safeNext(_ next: String?) -> String {
        guard let next, next.hasPrefix("/"), !next.hasPrefix("//"), !next.hasPrefix("/login"),
            !next.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F || $0 == "\\" })
        else { return "/" }
        return next
    }
}
