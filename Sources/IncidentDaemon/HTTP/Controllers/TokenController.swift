import Foundation
import Hummingbird
import IncidentStore

/// `/v1/admin/tokens` (admins): create, list and revoke API tokens.
struct TokenController: Sendable {
    let deps: AppDependencies

    func addRoutes(to v1: some RouterMethods<APIContext>) {
        v1.post("admin/tokens", use: create)
        v1.get("admin/tokens", use: list)
        v1.delete("admin/tokens/{name}", use: revoke)
    }

    @Sendable func create(_ request: Request, context: APIContext) async throws -> Response {
        var request = request
        let principal = try context.requireAdmin()
        var body = try CommandBody(try await request.jsonBody(), allowed: ["name", "role", "expires"])
        let name = body.string("name")
        let roleText = body.string("role")
        let expires = body.string("expires", required: false)
        let role = roleText.flatMap(Role.init(rawValue:))
        if roleText != nil && role == nil { body.errors.append(FieldError("role", "must be one of \(Role.spelled)")) }
        // Absent or null: the default lifetime (90 days); a token that never expires says so.
        let expiry = TokenExpiry.parse(expires)
        if expiry == nil { body.errors.append(FieldError("expires", "must be \(TokenExpiry.usage)")) }
        let expiresAt = expiry?.expiresAt()
        try body.check()
        do {
            let secret = try await deps.tokens.create(name: name!, role: role!, expiresAt: expiresAt, by: auditActor(context, principal))
            return JSONResponse.make(
                .created,
                [
                    "name": .string(name!), "role": .string(role!.rawValue), "token": .string(secret),
                    "expires_at": expiresAt.map(Render.timestamp) ?? .null,
                ])
        } catch let error as TokenError {
            throw APIError(error == .nameInUse(name!) ? .conflict : .unprocessableContent, code: "token_error", message: error.description)
        }
    }

    @Sendable func list(_ request: Request, context: APIContext) async throws -> Response {
        _ = try context.requireAdmin()
        return JSONResponse.make(.ok, ["tokens": .array(try await deps.tokens.list().map(Self.row))])
    }

    /// A token as the API and the console's admin page show it (never its secret).
    static func row(_ token: TokenInfo) -> JSONValue {
        [
            "name": .string(token.name), "role": .string(token.role.rawValue), "created_at": Render.timestamp(token.createdAt),
            "expires_at": token.expiresAt.map(Render.timestamp) ?? .null, "revoked_at": token.revokedAt.map(Render.timestamp) ?? .null,
        ]
    }

    @Sendable func revoke(_ request: Request, context: APIContext) async throws -> Response {
        let principal = try context.requireAdmin()
        let name = context.parameters.get("name") ?? ""
        do {
            try await deps.tokens.revoke(name: name, by: auditActor(context, principal))
        } catch is TokenError {
            throw APIError(.notFound, code: "not_found", message: "no token named '\(name)'")
        }
        return JSONResponse.make(.ok, ["name": .string(name), "revoked": true])
    }
}
