import IncidentTransport

/// How a database connection reaches its server, and whether what crosses it is safe from a
/// listener on the network (docs/operations.md, TLS).
public struct ConnectionTransport: Sendable, Equatable {
    /// libpq's `PQhost`: the host name or address the connection was given, or for a Unix
    /// socket its directory (an absolute path, or `@name` for an abstract socket).
    public var host: String
    /// libpq's `PQhostaddr`: the IP address actually connected to; empty for a Unix socket.
    public var address: String
    /// libpq's `PQsslInUse`.
    public var sslInUse: Bool

    public init(host: String, address: String, sslInUse: Bool) {
        self.host = host
        self.address = address
        self.sslInUse = sslInUse
    }

    /// A Unix socket, as libpq tells one from a host name.
    public var isUnixSocket: Bool { host.hasPrefix("/") || host.hasPrefix("@") }

    /// True when the connection is encrypted (TLS) or never leaves the machine (a Unix socket, a
    /// loopback address). The address connected to decides over the name given: `localhost` that
    /// resolved elsewhere is the network.
    public var isProtected: Bool {
        if sslInUse || isUnixSocket { return true }
        return Loopback.contains(address.isEmpty ? host : address)
    }
}
