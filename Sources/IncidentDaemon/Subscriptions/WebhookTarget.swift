import Foundation
import IncidentStore

/// Where webhooks may go (docs/subscriptions.md, Outbound safety): `https` only, and never to an
/// address of this machine or of a private network, which a webhook could otherwise reach from
/// inside the operation's network (a metadata service, a database, an admin page). A host that
/// `serve --allow-webhook-host` names is exempt from both rules.
///
/// Checked when a subscription is made and again before each try, for a name may resolve
/// elsewhere later. (The HTTP client resolves the name once more to connect: a name whose
/// answer changes between the two lookups is a known gap, see docs/subscriptions.md.)
struct WebhookPolicy: Sendable {
    /// Lower-cased host names or addresses.
    var allowedHosts: Set<String> = []

    struct Refusal: Error, CustomStringConvertible {
        var description: String
    }

    /// The URL, if a webhook may be sent there.
    /// - Throws: ``Refusal`` saying why not.
    func check(_ text: String) async throws -> URL {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(), let url = components.url,
            let rawHost = components.host, !rawHost.isEmpty
        else { throw Refusal(description: "not an absolute URL with a host") }
        guard scheme == "https" || scheme == "http" else { throw Refusal(description: "the scheme must be https") }
        guard components.user == nil && components.password == nil else { throw Refusal(description: "the URL must not hold credentials") }
        let host = rawHost.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
        if allowedHosts.contains(host) { return url }
        guard scheme == "https" else { throw Refusal(description: "the scheme must be https (serve --allow-webhook-host \(host) allows http there)") }
        // Never sent to a resolver: the name cannot exist (RFC 6761).
        if host == "invalid" || host.hasSuffix(".invalid") { throw Refusal(description: "\(host) does not resolve") }
        let addresses = try await Self.resolve(host)
        if let address = addresses.first(where: { !$0.isPublic }) {
            throw Refusal(
                description: "\(host) resolves to \(address), a loopback, private or link-local address (serve --allow-webhook-host \(host) allows it)")
        }
        return url
    }

    /// Every address `host` (a name or a literal address) stands for.
    static func resolve(_ host: String) async throws -> [IPAddress] {
        if let literal = IPAddress(host) { return [literal] }
        return try await onOwnThread {
            var hints = addrinfo()
            hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
            var list: UnsafeMutablePointer<addrinfo>?
            guard getaddrinfo(host, nil, &hints, &list) == 0, let first = list else { throw Refusal(description: "\(host) does not resolve") }
            defer { freeaddrinfo(first) }
            var found: [IPAddress] = []
            var entry: UnsafeMutablePointer<addrinfo>? = first
            while let current = entry {
                if let address = IPAddress(current.pointee.ai_addr) { found.append(address) }
                entry = current.pointee.ai_next
            }
            guard !found.isEmpty else { throw Refusal(description: "\(host) does not resolve") }
            return found
        }
    }
}
