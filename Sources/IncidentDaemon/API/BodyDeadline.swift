import Hummingbird
import NIOCore
import Synchronization

/// Reads a request's body before the handler runs, and gives up on a client that stops sending it:
/// no byte for `stall` answers 408 and closes the connection. A slow but steady client (a field
/// office on a poor link) is never cut off; one that trickles a byte now and then to hold a request
/// open is. Connections idle between requests, or trickling their headers, are closed by the HTTP
/// server's idle timeout (see `buildApplication`).
struct BodyDeadlineMiddleware<Context: RequestContext>: RouterMiddleware {
    var stall: Duration
    /// Beyond this the body is refused (413); each route applies its own, smaller limit after.
    var limit = 32 << 20

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard request.headers[.contentLength].map({ $0 != "0" }) ?? (request.headers[.transferEncoding] != nil) else {
            return try await next(request, context)
        }
        var request = request
        let body = request.body
        let progress = LastProgress()
        let (stall, limit) = (stall, limit)
        let buffer = try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
            group.addTask {
                var collected = ByteBuffer()
                for try await chunk in body {
                    guard collected.readableBytes + chunk.readableBytes <= limit else {
                        throw APIError(.contentTooLarge, code: "payload_too_large", message: "the body is larger than \(limit >> 20) MiB")
                    }
                    collected.writeImmutableBuffer(chunk)
                    progress.touch()
                }
                return collected
            }
            group.addTask {
                while true {
                    try await Task.sleep(for: min(stall, .seconds(1)))
                    if progress.idle >= stall { return nil }
                }
            }
            let first = try await group.next()!
            group.cancelAll()
            return first
        }
        guard let buffer else {
            var error = APIError(.requestTimeout, code: "request_timeout", message: "the body stopped arriving; send it again")
            error.headers[.connection] = "close"
            throw error
        }
        request.body = .init(buffer: buffer)
        return try await next(request, context)
    }
}

/// When the last byte of a body arrived.
private final class LastProgress: Sendable {
    private let last = Mutex(ContinuousClock.now)
    func touch() { last.withLock { $0 = .now } }
    var idle: Duration { ContinuousClock.now - last.withLock { $0 } }
}
