import Foundation
import Hummingbird
import IncidentStore
import Logging
import NIOCore

/// The request context: Hummingbird's core storage plus the authenticated principal.
struct APIContext: RequestContext, RemoteAddressRequestContext {
    var coreContext: CoreRequestContextStorage
    /// Set by ``AuthMiddleware`` for every `/v1` route that needs a token.
    var principal: Principal?
    /// The token the principal was found by (never logged): the stream checks it again while it runs.
    var credential: String?
    /// The console's session secret, set by ``ConsoleSessionMiddleware`` (never logged): its forms' token derives from it.
    var consoleSecret: String?
    /// The peer of the connection the request came on.
    let remoteAddress: SocketAddress?
    /// The client's address (an IP address; `unix` for a Unix-domain socket): the key of the
    /// failed-authentication limit, and what the access audit records.
    let clientAddress: String

    init(source: Source) {
        self.coreContext = .init(source: source)
        self.remoteAddress = source.channel.remoteAddress
        self.clientAddress = remoteAddress.map { $0.ipAddress ?? "unix" } ?? "unknown"
    }

    /// The authenticated principal; routes behind ``AuthMiddleware`` always have one.
    func requirePrincipal() throws -> Principal {
        guard let principal else { throw APIError(.unauthorized, code: "unauthorized", message: "a bearer token is required") }
        return principal
    }

    /// The principal, when an admin; else 403 with `message`.
    func requireAdmin(_ message: String = "admins only") throws -> Principal {
        let principal = try requirePrincipal()
        guard principal.role == .admin else { throw APIError(.forbidden, code: "forbidden", message: message) }
        return principal
    }

    /// The principal, unless a reporter: reporters may not read the log.
    func requireLogReader() throws -> Principal {
        let principal = try requirePrincipal()
        guard principal.role != .reporter else { throw APIError(.forbidden, code: "forbidden", message: "reporters may not read the log") }
        return principal
    }
}
