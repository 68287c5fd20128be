import Foundation
import Logging
import Hummingbird
import IncidentStore
import NIOCore

/// The request context: Hummingbird's core storage plus the authenticated principal.
struct APIContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    /// Set by ``AuthMiddleware`` for every `/v1` route that needs a token.
    var principal: Principal?
    /// The peer of the connection the request came on.
    let remoteAddress: SocketAddress?

    init(source: Source) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
    }

    /// The authenticated principal; routes behind ``AuthMiddleware`` always have one.
    func requirePrincipal() throws -> Principal {
        guard let principal else { throw APIError(.unauthorized, code: "unauthorized", message: "a bearer token is required") }
        return principal
    }

    /// The client's address as the access audit records it: an IP address, or `unix` for a
    /// Unix-domain socket.
    var clientAddress: String? {
        guard let remoteAddress else { return nil }
        return remoteAddress.ipAddress ?? "unix"
    }
}
