import AsyncHTTPClient
import Crypto
import Foundation
import IncidentStore
import NIOCore
import NIOHTTP1
import PostgresLibpq

/// Sends one webhook as the Standard Webhooks specification says: a POST of the JSON body with
/// `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of
/// "id.timestamp.body">`. Redirects are not followed (a 3xx is a failed try), the answer is
/// read up to 64 KiB, and the whole exchange has `timeout`.
struct WebhookSender: Sendable {
    let client: HTTPClient
    let policy: WebhookPolicy
    let timeout: Duration

    /// At most this much of an answer is read (a few lines of it go into `last_error`).
    static let answerLimit = 64 * 1024

    /// What one try came to.
    struct Answer: Sendable {
        var status: Int?
        var error: String?
        var delivered: Bool { status.map { (200..<300).contains($0) } ?? false }
        var outcome: String { delivered ? "delivered" : "failed" }
    }

    static func makeClient(timeout: Duration) -> HTTPClient {
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5), read: .init(timeout)))
        configuration.decompression = .disabled
        configuration.httpVersion = .http1Only
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// The signature of `body` sent as message `id` at `timestamp` (Unix seconds), with the key
    /// a `whsec_` secret holds.
    static func signature(id: String, timestamp: Int, body: Data, key: Data) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(id).\(timestamp).".utf8) + body, using: SymmetricKey(data: key))
        return "v1," + Data(mac).base64EncodedString()
    }

    func send(to url: String, id: String, body: Data, key: Data) async -> Answer {
        do {
            let checked = try await policy.check(url)
            let timestamp = Int(Date().timeIntervalSince1970)
            var request = HTTPClientRequest(url: checked.absoluteString)
            request.method = .POST
            request.headers.add(name: "content-type", value: "application/json")
            request.headers.add(name: "user-agent", value: "incidentd-webhooks")
            request.headers.add(name: "webhook-id", value: id)
            request.headers.add(name: "webhook-timestamp", value: String(timestamp))
            request.headers.add(name: "webhook-signature", value: Self.signature(id: id, timestamp: timestamp, body: body, key: key))
            request.body = .bytes(ByteBuffer(bytes: body))
            let response = try await client.execute(request, timeout: .init(timeout))
            var read = ByteBuffer()
            for try await chunk in response.body {
                read.writeImmutableBuffer(chunk.getSlice(at: chunk.readerIndex, length: min(chunk.readableBytes, Self.answerLimit - read.readableBytes))!)
                if read.readableBytes >= Self.answerLimit { break }
            }
            let status = Int(response.status.code)
            guard (200..<300).contains(status) else {
                let text = String(decoding: read.readableBytesView.prefix(200), as: UTF8.self)
                return Answer(status: status, error: "HTTP \(status)" + (text.isEmpty ? "" : ": " + text))
            }
            return Answer(status: status, error: nil)
        } catch let refusal as WebhookPolicy.Refusal {
            return Answer(status: nil, error: "refused: \(refusal.description)")
        } catch {
            return Answer(status: nil, error: Self.describe(error))
        }
    }

    private static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout: return "no answer within the timeout"
            case .connectTimeout: return "could not connect within 5 s"
            default: return "\(error)"
            }
        }
        return String(describing: error).prefix(200).description
    }
}

extension TimeAmount {
    init(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        self = .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }
}
