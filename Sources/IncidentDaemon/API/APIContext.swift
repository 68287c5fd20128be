import Foundation
import Logging
import Hummingbird
import IncidentStore

/// The request context: Hummingbird's core storage plus the authenticated principal.
struct APIContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    /// Set by ``AuthMiddleware`` for every `/v1` route that needs a token.
    var principal: Principal?

    init(source: Source) {
        self.coreContext = .init(source: source)
    }

    /// The authenticated principal; routes behind ``AuthMiddleware`` always have one.
    func requirePrincipal() throws -> Principal {
        guard let principal else { throw APIError(.unauthorized, code: "unauthorized", message: "a bearer token is required") }
        return principal
    }
}
