import AsyncHTTPClient
import Foundation
import IncidentTransport
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// Talks to incidentd.
struct Client {
    let server: String
    let token: String?
    /// For https: trust only the CA certificates in this PEM file (a field office's own CA);
    /// nil trusts the system's CAs. The server's certificate is always verified.
    let caFile: String?
    /// True for plain http to another machine (accepted with `insecure`).
    let isPlainHTTPBeyondLoopback: Bool

    /// A client for `server`, checked before anything is sent or queued (docs/operations.md, TLS): plain
    /// http goes to another machine only with `insecure`, and only http(s) URLs are taken.
    ///
    /// - Parameters:
    ///   - insecure: plain http to another machine was asked for (`--insecure`, `ICTL_INSECURE=1`,
    ///     or saved by `ictl login --insecure` for this server).
    /// - Throws: ``CLIError`` with exit 64 when refused; nothing has been sent then.
    init(server: String, token: String?, caFile: String?, insecure: Bool) throws {
        self.server = server
        self.token = token
        self.caFile = caFile
        // The host checked is the one a request goes to: the URL built as `send` builds it.
        let url = server.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + "/"
        let parsed = URL(string: url)
        let host = parsed?.host ?? ""
        switch parsed?.scheme?.lowercased() {
        case "https" where !host.isEmpty:
            isPlainHTTPBeyondLoopback = false
        case "http" where !host.isEmpty:
            isPlainHTTPBeyondLoopback = !Loopback.contains(host)
        case "http+unix", "https+unix", "unix":
            isPlainHTTPBeyondLoopback = false
        default:
            throw CLIError(code: Exit.usage, message: "the server \(server) is not an http:// or https:// URL")
        }
        guard isPlainHTTPBeyondLoopback else { return }
        guard insecure else {
            throw CLIError(
                code: Exit.usage,
                message:
                    "refusing plain http to \(host), which is not this machine: the token and reports would cross the network unencrypted; use https://, or --insecure (or ICTL_INSECURE=1) to send anyway"
            )
        }
        note("warning: plain http to \(host) (--insecure): the token and reports cross the network unencrypted" + (caFile == nil ? "" : "; the CA file is not used"))
    }

    /// `ICTL_INSECURE=1`: plain http to another machine is accepted for this run.
    static var insecureFromEnvironment: Bool { ProcessInfo.processInfo.environment["ICTL_INSECURE"] == "1" }

    /// The URL of `path` (which starts with `/`) on the server.
    func url(_ path: String) -> String {
        server.trimmingCharacters(in: CharacterSet(charactersIn: "/")) + path
    }

    /// The process's HTTP client for `caFile`; fails with a clear message when the file is unusable.
    var http: HTTPClient {
        get throws { try Self.http(trusting: caFile) }
    }

    /// Sends one request. Throws ``Unreachable`` when no answer came (network down, daemon stopped).
    /// A successful answer that names another outbox key than the stored one refreshes it.
    /// - Parameter headers: more request headers (`X-Access-Reason`).
    func send(
        _ method: HTTPMethod, _ path: String, json: Data? = nil, contentType: String = "application/json", idempotencyKey: String? = nil,
        headers: [(String, String)] = [], timeout: TimeAmount = .seconds(30)
    ) async throws -> APIResponse {
        let response = try await exchange(method, path, json: json, contentType: contentType, idempotencyKey: idempotencyKey, headers: headers, timeout: timeout)
        await refreshOutboxKey(after: response)
        return response
    }

    /// One request and its answer, nothing else.
    func exchange(
        _ method: HTTPMethod, _ path: String, json: Data? = nil, contentType: String = "application/json", idempotencyKey: String? = nil,
        headers: [(String, String)] = [], timeout: TimeAmount = .seconds(30)
    ) async throws -> APIResponse {
        var request = HTTPClientRequest(url: url(path))
        request.method = method
        request.headers.add(name: "User-Agent", value: "ictl/0.1")
        request.headers.add(contentsOf: headers)
        if let token { request.headers.add(name: "Authorization", value: "Bearer " + token) }
        if let idempotencyKey { request.headers.add(name: "Idempotency-Key", value: idempotencyKey) }
        if let json {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: json))
        }
        let http = try http
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request, timeout: timeout)
        } catch {
            throw Unreachable(error)
        }
        let body = try await response.body.collect(upTo: 64 << 20)
        return APIResponse(
            status: Int(response.status.code), body: Data(body.readableBytesView), outboxKeyID: response.headers.first(name: "Outbox-Key-Id"),
            retryAfter: response.headers.first(name: "Retry-After").flatMap { Int($0) })
    }

    /// One HTTP client per trust setting, for the life of the process. A refused or failed
    /// connection fails at once (no retries until the deadline): on a dead link the user hears
    /// "kept in the outbox" in seconds, not minutes.
    private static let clients = Mutex<[String: HTTPClient]>([:])

    static func http(trusting caFile: String?) throws -> HTTPClient {
        try clients.withLock { clients in
            if let client = clients[caFile ?? ""] { return client }
            var configuration = HTTPClient.Configuration()
            configuration.timeout = .init(connect: .seconds(5), read: .seconds(60))
            configuration.connectionPool.retryConnectionEstablishment = false
            if let caFile {
                let authorities: [NIOSSLCertificate]
                do {
                    authorities = try NIOSSLCertificate.fromPEMFile(caFile)
                } catch {
                    throw CLIError(code: Exit.usage, message: "cannot read the CA file \(caFile): \(error)")
                }
                guard !authorities.isEmpty else { throw CLIError(code: Exit.usage, message: "no PEM certificate in the CA file \(caFile)") }
                var tls = TLSConfiguration.makeClientConfiguration()
                tls.trustRoots = .certificates(authorities)
                configuration.tlsConfiguration = tls
            }
            let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            clients[caFile ?? ""] = client
            return client
        }
    }

    /// No answer came: the network, the daemon, or a server whose certificate is not trusted.
    struct Unreachable: Error {
        var reason: String
        /// The TLS handshake failed (an untrusted or wrong certificate, or not TLS at all).
        var tls = false

        init(_ error: any Error) {
            reason = "\(error)"
            tls = error is NIOSSLError || error is BoringSSLError || reason.contains("certificate") || reason.contains("handshake")
        }

        /// One line for the user.
        var explanation: String {
            tls
                ? "the TLS handshake failed: the server's certificate is not trusted or not valid for this address (--ca-file names a CA to trust)"
                : "it cannot be reached"
        }
    }
}
