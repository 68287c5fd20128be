import Hummingbird
import NIOCore
import Synchronization

/// Reads an authenticated request's body before its handler runs, up to the route's limit, and
/// gives up on a client that stops sending it: no byte for `stall` answers 408 and closes the
/// connection. A slow but steady client (a field office on a poor link) is never cut off. It runs
/// after authentication, so without a valid token nobody gets a body read at all. Connections idle
/// between requests, or trickling their headers, are closed by the HTTP server's idle timeout (see
/// `buildApplication`).
struct BodyDeadlineMiddleware<Context: RequestContext>: RouterMiddleware {
    var stall: Duration

    /// The largest body a path takes: a batch 32 MiB, anything else 1 MiB.
    static func limit(for path: String) -> Int { path.hasSuffix(":batch") ? 32 << 20 : 1 << 20 }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let length = request.headers[.contentLength]
        guard length.map({ $0 != "0" }) ?? (request.headers[.transferEncoding] != nil) else {
            return try await next(request, context)
        }
        let limit = Self.limit(for: request.uri.path)
        // Declared too large: answered at once; the server reads and drops the declared rest, so
        // the client hears the 413 rather than a connection cut mid-send.
        if let length, let declared = Int(length), declared > limit { throw Self.tooLarge(limit, close: false) }
        var request = request
        let body = request.body
        let progress = LastProgress()
        let stall = stall
        let buffer: ByteBuffer?
        do {
            buffer = try await withThrowingTaskGroup(of: ByteBuffer?.self) { group in
                group.addTask {
                    var collected = ByteBuffer()
                    for try await chunk in body {
                        guard collected.readableBytes + chunk.readableBytes <= limit else { throw Self.tooLarge(limit, close: true) }
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
        } catch let error as APIError {
            throw error
        } catch {
            // The client went away or sent a broken body: nothing of ours failed.
            var apiError = APIError(.badRequest, code: "bad_body", message: "the body could not be read")
            apiError.headers[.connection] = "close"
            throw apiError
        }
        guard let buffer else {
            var error = APIError(.requestTimeout, code: "request_timeout", message: "the body stopped arriving; send it again")
            error.headers[.connection] = "close"
            throw error
        }
        request.body = .init(buffer: buffer)
        return try await next(request, context)
    }

    /// A 413; with `close`, the connection ends after it (a chunked body has no end we could wait for).
    private static func tooLarge(_ limit: Int, close: Bool) -> APIError {
        var error = APIError(.contentTooLarge, code: "payload_too_large", message: "the body is larger than \(limit >> 20) MiB")
        if close { error.headers[.connection] = "close" }
        return error
    }
}

/// When the last byte of a body arrived.
private final class LastProgress: Sendable {
    private let last = Mutex(ContinuousClock.now)
    func touch() { last.withLock { $0 = .now } }
    var idle: Duration { ContinuousClock.now - last.withLock { $0 } }
}
