import Foundation
import Hummingbird
import IncidentStore
import NIOCore
import PostgresLibpq
import ServiceLifecycle

/// One open stream: pages of the log written as events until the client goes, the token stops
/// being valid, or the daemon shuts down.
struct LiveStream: Sendable {
    let deps: AppDependencies
    let feed: LogFeed
    let principal: Principal
    let credential: String
    let timeout: Duration?

    func write(from checkpoint: Checkpoint, to writer: inout any ResponseBodyWriter) async throws {
        var position = checkpoint
        var idleSince = ContinuousClock.now
        var checkedAt = ContinuousClock.now
        try await writer.write(ByteBuffer(string: ": incident log stream\n\n"))
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            if ContinuousClock.now - checkedAt >= deps.streamRecheck {
                // Revoked or expired (or its role changed): the stream ends here.
                guard try await stillValid() else { break }
                checkedAt = ContinuousClock.now
            }
            let (events, next) = try await StatementTimeout.$current.withValue(timeout) { [position] in
                try await feed.page(after: position, limit: 200, for: principal)
            }
            for event in events {
                let data = Render.event(event, for: principal).encodedString
                try await writer.write(ByteBuffer(string: "id: \(event.checkpoint.token)\nevent: \(event.type)\ndata: \(data)\n\n"))
            }
            position = next
            if events.isEmpty {
                // Also how a closed client is noticed (the write fails), so its slot comes free.
                if ContinuousClock.now - idleSince > deps.streamRecheck {
                    try await writer.write(ByteBuffer(string: ": keepalive\n\n"))
                    idleSince = ContinuousClock.now
                }
                try await Task.sleep(for: .milliseconds(200))
            } else {
                idleSince = ContinuousClock.now
            }
        }
        try await writer.finish(nil)
    }

    func stillValid() async throws -> Bool {
        let current = try await StatementTimeout.$current.withValue(timeout) { try await deps.tokens.authenticate(credential) }
        return current == principal
    }
}
