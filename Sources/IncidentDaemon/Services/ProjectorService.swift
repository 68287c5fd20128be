import Foundation
import IncidentStore
import Logging
import Metrics
import ServiceLifecycle

/// Keeps the read models current, as the single active projector among the daemons sharing a
/// database.
///
/// On a connection of its own it takes a session advisory lock: the holder projects, the others
/// stand by and try again every `standbyInterval`; when the holder dies its session ends, the lock
/// is free and a standby takes over. The active one applies batches until caught up, then waits for
/// a `NOTIFY` from the log (`incident_events`) or, because notifications are lost across
/// reconnects, at most `pollInterval`. On graceful shutdown it commits the batch in hand and stops.
struct ProjectorService: Service {
    let pool: ConnectionPool
    let projections: [any Projection]
    let logger: Logger
    var pollInterval: Duration = .seconds(1)
    var standbyInterval: Duration = .seconds(1)
    var batchSize = 500

    func run() async throws {
        let connection = DedicatedConnection(like: pool)
        let lag = projections.map { Gauge(label: "incident_projection_lag_events", dimensions: [("projection", $0.name)]) }
        let applied = projections.map { Counter(label: "incident_projection_events_total", dimensions: [("projection", $0.name)]) }
        let active = Gauge(label: "incident_projector_active")
        var session: Int32?   // the backend holding our lock, when we hold it
        var lastLag = ContinuousClock.now - .seconds(60)

        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let held = session
                let (backend, counts) = try await connection.run { [projections, batchSize] connection -> (Int32?, [Int]) in
                    if held != connection.backendPID {
                        guard try ProjectorLock.tryAcquire(on: connection) else { return (nil, []) }
                        try connection.listen("incident_events")
                    }
                    return (connection.backendPID, try projections.map { try $0.catchUp(on: connection, limit: batchSize) })
                }
                if backend != session {
                    logger.info(backend == nil ? "projector standing by: another daemon is projecting" : "projector active")
                    active.record(backend == nil ? 0 : 1)
                    session = backend
                }
                guard backend != nil else {
                    try? await Task.sleep(for: standbyInterval)
                    continue
                }
                for (index, count) in counts.enumerated() where count > 0 { applied[index].increment(by: count) }
                let busy = counts.contains { $0 > 0 }
                if !busy || ContinuousClock.now - lastLag > .seconds(1) {
                    let lags = try await connection.run { [projections] connection in try projections.map { try $0.lag(on: connection) } }
                    for (index, value) in lags.enumerated() { lag[index].record(value) }
                    lastLag = .now
                }
                if busy { continue }
                // Caught up: wait for a notification, in short slices so a shutdown is not held up.
                let deadline = ContinuousClock.now + pollInterval
                while ContinuousClock.now < deadline, !Task.isShuttingDownGracefully, !Task.isCancelled {
                    if try await connection.run({ try $0.waitForNotification(timeout: .milliseconds(200)) }) { break }
                }
            } catch let error as DatabaseError where error.isConnectionFailure {
                if session != nil { logger.warning("projector lost its database connection", metadata: ["db.error": "\(error.debugDescription)"]) }
                session = nil
                active.record(0)
                try? await Task.sleep(for: .seconds(1))
            } catch {
                logger.error("projection failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
        await connection.close()
    }
}
