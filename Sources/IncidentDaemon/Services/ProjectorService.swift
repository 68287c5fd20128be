import Foundation
import IncidentStore
import Logging
import Metrics
import PostgresLibpq
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
    var batchSize = 1000
    /// How long to gather appends after a notification before projecting them.
    var coalesceDelay: Duration = .milliseconds(25)

    /// What one round of catching up did.
    private struct Round {
        /// The connection (serial) whose session holds the projector lock; nil: another daemon does.
        var holder: Int?
        /// Per projection: the events applied, or why it failed.
        var outcomes: [Result<Int, any Error>]
        var applied: Int { outcomes.map { (try? $0.get()) ?? 0 }.max() ?? 0 }
        var busy: Bool { applied > 0 }
        /// A projection applied a full batch: a backlog.
        func full(_ batchSize: Int) -> Bool { outcomes.contains { ((try? $0.get()) ?? 0) >= batchSize } }
        var failed: Bool { outcomes.contains { if case .failure = $0 { true } else { false } } }
    }

    func run() async throws {
        // Maintenance runs beside the projector, one run at a time; a request made while one runs
        // is kept (one at most) and served when it ends.
        let (due, request) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        await withDiscardingTaskGroup { group in
            group.addTask { for await _ in due { await maintain() } }
            await project(requestingMaintenance: request)
            request.finish()
        }
    }

    /// The projector's loop, until the service group shuts down.
    private func project(requestingMaintenance maintenance: AsyncStream<Void>.Continuation) async {
        let connection = DedicatedConnection(like: pool)
        let metrics = ProjectorMetrics(projections)
        var session: Int?
        var lastLag = ContinuousClock.now - .seconds(60)
        var backlogApplied = 0  // events applied (by the busiest projection) since the projector was last at the head of the log
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let round = try await catchUp(on: connection, holding: session)
                if round.holder != session {
                    logger.info(round.holder == nil ? "projector standing by: another daemon is projecting" : "projector active")
                    metrics.active.record(round.holder == nil ? 0 : 1)
                    session = round.holder
                }
                backlogApplied += round.applied
                metrics.record(round.outcomes, projections: projections, logger: logger)
                // Every daemon reports the lag, standbys too: a stuck holder shows on all of them.
                // Counting a long backlog takes a while, so while catching up, less often.
                if ContinuousClock.now - lastLag > (round.busy ? .seconds(10) : .seconds(1)) {
                    try await metrics.recordLag(of: projections, on: connection)
                    lastLag = .now
                }
                guard round.holder != nil else {
                    try? await Task.sleep(for: standbyInterval)
                    continue
                }
                // A full batch: a backlog, on with the next at once.
                if round.full(batchSize) { continue }
                // At the head of the log: after a backlog worked off without a pause, the read
                // models want compacting (see ``maintain()``).
                if backlogApplied >= 10_000 { maintenance.yield() }
                backlogApplied = 0
                try await pause(after: round, on: connection)
            } catch let error as DatabaseError where error.isConnectionFailure {
                if session != nil { logger.warning("projector lost its database connection", metadata: ["db.error": "\(error.debugDescription)"]) }
                session = nil
                metrics.active.record(0)
                try? await Task.sleep(for: .seconds(1))
            } catch {
                logger.error("projector failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
            }
        }
        await connection.close()
    }

    /// Takes the lock if this session does not hold it yet, then applies one batch of each projection.
    private func catchUp(on connection: DedicatedConnection, holding held: Int?) async throws -> Round {
        try await connection.run { [projections, batchSize] connection -> Round in
            if held != connection.serial {
                guard try ActiveInstance.projector.tryAcquire(on: connection) else { return Round(holder: nil, outcomes: []) }
                try connection.listen("incident_events")
                // The read models are derived: a crash may lose the last few projector commits
                // (each whole, with its checkpoint), and they are simply projected again from the
                // durable log. So the projector does not wait for its WAL flushes, and leaves the
                // disk to the writers, whose commits must.
                try connection.execute("SET synchronous_commit = off")
            }
            // One projection failing (a bug, a bad event) does not hold the others back; a broken
            // connection stops them all (and is replaced).
            let outcomes = projections.map { projection in Result { try projection.catchUp(on: connection, limit: batchSize) } }
            for case .failure(let error as DatabaseError) in outcomes where error.isConnectionFailure { throw error }
            return Round(holder: connection.serial, outcomes: outcomes)
        }
    }

    /// Waits before the next round: a second after a failure; a moment while appends are arriving
    /// (so the next ones gather rather than being projected a few at a time, each batch costing
    /// its statements and commits); when caught up, until a notification or `pollInterval`, in
    /// short slices so a shutdown is not held up.
    private func pause(after round: Round, on connection: DedicatedConnection) async throws {
        if round.failed {
            try? await Task.sleep(for: .seconds(1))
            return
        }
        if round.busy {
            try? await Task.sleep(for: coalesceDelay)
            return
        }
        let deadline = ContinuousClock.now + pollInterval
        while ContinuousClock.now < deadline, !Task.isShuttingDownGracefully, !Task.isCancelled {
            if try await connection.run({ try $0.waitForNotification(timeout: .milliseconds(200)) }) {
                // Let a burst of appends gather into one batch rather than one batch each: the
                // projector's commits compete with the writers' for the disk and the CPU.
                try? await Task.sleep(for: coalesceDelay)
                return
            }
        }
    }

    /// After a long catch-up the summary's bucket tables are mostly dead pages
    /// (``Projection/compact(on:)``) and the read models' statistics describe tables that no
    /// longer exist; autovacuum would get to the statistics, the next summaries should not wait
    /// for it. Only after a backlog worked off without a pause: under a steady stream of reports
    /// autovacuum keeps up, and an ANALYZE every 10,000 events would take a large share of the
    /// machine. On pool connections beside the projector's: an ANALYZE of a large table takes
    /// seconds, and the projector must not stall behind it.
    private func maintain() async {
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
    }
}

/// The projector's gauges and counters, one per projection where it has a dimension.
private struct ProjectorMetrics {
    let lag: [Gauge]
    let applied: [Counter]
    let active = Gauge(label: "incident_projector_active")

    init(_ projections: [any Projection]) {
        lag = projections.map { Gauge(label: "incident_projection_lag_events", dimensions: [("projection", $0.name)]) }
        applied = projections.map { Counter(label: "incident_projection_events_total", dimensions: [("projection", $0.name)]) }
    }

    func record(_ outcomes: [Result<Int, any Error>], projections: [any Projection], logger: Logger) {
        for (index, outcome) in outcomes.enumerated() {
            switch outcome {
            case .success(let count):
                if count > 0 { applied[index].increment(by: count) }
            case .failure(let error):
                logger.error("projection failed; retrying", metadata: ["projection": "\(projections[index].name)", "error": "\(error)"])
            }
        }
    }

    func recordLag(of projections: [any Projection], on connection: DedicatedConnection) async throws {
        let lags = try await connection.run { connection in try projections.map { try $0.lag(on: connection) } }
        for (index, value) in lags.enumerated() { lag[index].record(value) }
    }
}
