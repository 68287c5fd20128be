import Foundation
import IncidentStore
import Logging
import Metrics
import PostgresLibpq
import ServiceLifecycle
import Synchronization

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
    var batchSize = 1000
    /// How long to gather appends after a notification before projecting them.
    var coalesceDelay: Duration = .milliseconds(25)

    func run() async throws {
        let connection = DedicatedConnection(like: pool)
        let lag = projections.map { Gauge(label: "incident_projection_lag_events", dimensions: [("projection", $0.name)]) }
        let applied = projections.map { Counter(label: "incident_projection_events_total", dimensions: [("projection", $0.name)]) }
        let active = Gauge(label: "incident_projector_active")
        var session: Int?   // the connection (serial) whose session holds our lock, when we hold it
        var lastLag = ContinuousClock.now - .seconds(60)
        var backlogApplied = 0  // events applied (by the busiest projection) since the projector was last at the head of the log
        var maintenanceDue = false
        let maintaining = Flag()

        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let held = session
                let (holder, outcomes) = try await connection.run { [projections, batchSize] connection -> (Int?, [Result<Int, any Error>]) in
                    if held != connection.serial {
                        guard try ProjectorLock.tryAcquire(on: connection) else { return (nil, []) }
                        try connection.listen("incident_events")
                        // The read models are derived: a crash may lose the last few projector
                        // commits (each whole, with its checkpoint), and they are simply projected
                        // again from the durable log. So the projector does not wait for its WAL
                        // flushes, and leaves the disk to the writers, whose commits must.
                        try connection.execute("SET synchronous_commit = off")
                    }
                    // One projection failing (a bug, a bad event) does not hold the others back;
                    // a broken connection stops them all (and is replaced).
                    let outcomes = projections.map { projection in Result { try projection.catchUp(on: connection, limit: batchSize) } }
                    for case .failure(let error as DatabaseError) in outcomes where error.isConnectionFailure { throw error }
                    return (connection.serial, outcomes)
                }
                if holder != session {
                    logger.info(holder == nil ? "projector standing by: another daemon is projecting" : "projector active")
                    active.record(holder == nil ? 0 : 1)
                    session = holder
                }
                var busy = false
                backlogApplied += outcomes.map { (try? $0.get()) ?? 0 }.max() ?? 0
                for (index, outcome) in outcomes.enumerated() {
                    switch outcome {
                    case .success(let count):
                        if count > 0 { applied[index].increment(by: count); busy = true }
                    case .failure(let error):
                        logger.error("projection failed; retrying", metadata: ["projection": "\(projections[index].name)", "error": "\(error)"])
                    }
                }
                // Every daemon reports the lag, standbys too: a stuck holder shows on all of them.
                // Counting a long backlog takes a while, so while catching up, less often.
                if ContinuousClock.now - lastLag > (busy ? .seconds(10) : .seconds(1)) {
                    let lags = try await connection.run { [projections] connection in try projections.map { try $0.lag(on: connection) } }
                    for (index, value) in lags.enumerated() { lag[index].record(value) }
                    lastLag = .now
                }
                guard holder != nil else {
                    try? await Task.sleep(for: standbyInterval)
                    continue
                }
                // A full batch: a backlog, on with the next at once.
                if outcomes.contains(where: { ((try? $0.get()) ?? 0) >= batchSize }) { continue }
                // At the head of the log. After a long catch-up the summary's bucket tables are
                // mostly dead pages (``Projection/compact(on:)``) and the read models' statistics
                // describe tables that no longer exist; autovacuum would get to the statistics,
                // the next summaries should not wait for it. Only after a backlog worked off
                // without a pause: under a steady stream of reports (at the head every few
                // milliseconds) autovacuum keeps up, and an ANALYZE every 10,000 events would take
                // a large share of the machine. On a pool connection beside the projector's, one at a
                // time: an ANALYZE of a large table takes seconds, and the projector must not
                // stall behind it.
                // Due until it starts: a backlog worked off while the last run is still going is
                // looked after when that one ends.
                if backlogApplied >= 10_000 { maintenanceDue = true }
                backlogApplied = 0
                if maintenanceDue, !maintaining.value {
                    maintenanceDue = false
                    maintaining.value = true
                    Task { [pool, projections, logger, maintaining] in
                        for projection in projections {
                            do {
                                try await pool.withConnection { try projection.compact(on: $0) }
                            } catch {
                                logger.warning("could not compact a read model", metadata: ["projection": "\(projection.name)", "error": "\(error)"])
                            }
                            do {
                                try await pool.withConnection { try projection.analyze(.live, on: $0) }
                            } catch {
                                logger.warning("could not refresh a read model's statistics", metadata: ["projection": "\(projection.name)", "error": "\(error)"])
                            }
                        }
                        maintaining.value = false
                    }
                }
                if outcomes.contains(where: { if case .failure = $0 { true } else { false } }) {
                    try? await Task.sleep(for: .seconds(1))
                    continue
                }
                if busy {
                    // Appends are arriving: let the next ones gather for a moment rather than
                    // project them a few at a time (each batch costs its statements and commits).
                    try? await Task.sleep(for: coalesceDelay)
                    continue
                }
                // Caught up: wait for a notification, in short slices so a shutdown is not held up.
                let deadline = ContinuousClock.now + pollInterval
                while ContinuousClock.now < deadline, !Task.isShuttingDownGracefully, !Task.isCancelled {
                    if try await connection.run({ try $0.waitForNotification(timeout: .milliseconds(200)) }) {
                        // Let a burst of appends gather into one batch rather than one batch each:
                        // the projector's commits compete with the writers' for the disk and the CPU.
                        try? await Task.sleep(for: coalesceDelay)
                        break
                    }
                }
            } catch let error as DatabaseError where error.isConnectionFailure {
                if session != nil { logger.warning("projector lost its database connection", metadata: ["db.error": "\(error.debugDescription)"]) }
                session = nil
                active.record(0)
                try? await Task.sleep(for: .seconds(1))
            } catch {
                logger.error("projector failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
        await connection.close()
    }
}

/// A flag one task sets and another reads.
private final class Flag: Sendable {
    private let state = Mutex(false)
    var value: Bool {
        get { state.withLock { $0 } }
        set { state.withLock { $0 = newValue } }
    }
}
