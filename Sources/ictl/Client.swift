import AsyncHTTPClient
import Foundation
import IncidentTransport
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// Exit codes of ictl (docs/cli.md, Exit codes), documented in `ictl --help`.
enum Exit {
    static let ok: Int32 = 0
    static let usage: Int32 = 64
    static let rejected: Int32 = 65
    static let notFound: Int32 = 66
    static let unreachable: Int32 = 69
    static let queued: Int32 = 75
    static let conflict: Int32 = 76
    static let notAuthorized: Int32 = 77
    static let other: Int32 = 1
}

/// A failure with its exit code and one clear line for stderr.
struct CLIError: Error {
    var code: Int32
    var message: String
}

func note(_ message: String) {
    FileHandle.standardError.write(Data(("ictl: " + message + "\n").utf8))
}

/// Where ictl keeps its files: the config `ictl login` writes (mode 0600) and the offline outbox.
enum Paths {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }
    static var home: String { environment["HOME"] ?? NSHomeDirectory() }

    static var config: String {
        if let path = environment["ICTL_CONFIG"], !path.isEmpty { return path }
        let base = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? home + "/.config"
        return base + "/incident-log/ictl.json"
    }

    static var outbox: String {
        if let path = environment["ICTL_OUTBOX"], !path.isEmpty { return path }
        let base = environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? home + "/.local/share"
        return base + "/incident-log/outbox"
    }
}

struct StoredConfig: Codable {
    var server: String?
    var token: String?
    /// The CA certificates (PEM) to trust for an https server, instead of the system's.
    var caFile: String?
    /// `ictl login --insecure` accepted plain http to `server` (and to no other server).
    var insecure: Bool?
    /// The server's key that queued writes are sealed to (`GET /v1/outbox-key`).
    var outboxKey: OutboxKey?

    enum CodingKeys: String, CodingKey {
        case server, token, insecure
        case caFile = "ca_file"
        case outboxKey = "outbox_key"
    }
}

/// An answer from the daemon.
struct APIResponse {
    var status: Int
    var body: Data
    /// The server's current outbox key, as its `Outbox-Key-Id` header names it.
    var outboxKeyID: String? = nil
    /// Seconds to wait before asking again (`Retry-After` of a 429 or 503).
    var retryAfter: Int? = nil

    var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }

    var errorMessage: String {
        if let error = json?["error"] as? [String: Any] {
            var text = (error["message"] as? String) ?? "error \(status)"
            if let details = error["details"] as? [String: Any], let fields = details["fields"] as? [[String: Any]], fields.count > 1 {
                text = fields.compactMap { f in (f["field"] as? String).map { "\($0): \(f["message"] as? String ?? "")" } }.joined(separator: "\n  ")
                text = "rejected:\n  " + text
            }
            return text
        }
        return String(decoding: body.prefix(300), as: UTF8.self)
    }

    /// The exit code for a non-2xx answer.
    var exitCode: Int32 {
        switch status {
        case 400, 413, 422: Exit.rejected
        case 401, 403: Exit.notAuthorized
        case 404: Exit.notFound
        case 409: Exit.conflict
        default: Exit.other
        }
    }
}

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
            throw CLIError(code: Exit.usage, message: "refusing plain http to \(host), which is not this machine: the token and reports would cross the network unencrypted; use https://, or --insecure (or ICTL_INSECURE=1) to send anyway")
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
    func send(_ method: HTTPMethod, _ path: String, json: Data? = nil, contentType: String = "application/json", idempotencyKey: String? = nil,
              headers: [(String, String)] = [], timeout: TimeAmount = .seconds(30)) async throws -> APIResponse {
        let response = try await exchange(method, path, json: json, contentType: contentType, idempotencyKey: idempotencyKey, headers: headers, timeout: timeout)
        await refreshOutboxKey(after: response)
        return response
    }

    /// One request and its answer, nothing else.
    func exchange(_ method: HTTPMethod, _ path: String, json: Data? = nil, contentType: String = "application/json", idempotencyKey: String? = nil,
                  headers: [(String, String)] = [], timeout: TimeAmount = .seconds(30)) async throws -> APIResponse {
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
            tls ? "the TLS handshake failed: the server's certificate is not trusted or not valid for this address (--ca-file names a CA to trust)" : "it cannot be reached"
        }
    }
}
