import IncidentStore
import Logging
import PostgresLibpq
import ServiceLifecycle

/// Runs projection rebuilds inside the service group.
///
/// A request starts one (``start(_:by:)`` takes the rebuild lock and resets the shadow tables, so
/// a second request gets its 409 at once); the replay and the swap run here, each on a connection
/// of its own whose session holds the lock. On shutdown a rebuild stops at its next step (a bulk
/// load in progress finishes first) and its connection closes, which releases the lock; the live
/// tables stay as they were and the next rebuild resets the shadows.
final class RebuildService: Service, Sendable {
    private struct Job: Sendable {
        let projection: any Projection
        let connection: DedicatedConnection
    }

    private let pool: ConnectionPool
    private let logger: Logger
    private let jobs: AsyncStream<Job>
    private let submit: AsyncStream<Job>.Continuation

    init(pool: ConnectionPool, logger: Logger) {
        self.pool = pool
        self.logger = logger
        (jobs, submit) = AsyncStream.makeStream(of: Job.self)
    }

    /// Takes the lock and resets the shadows; the rest runs in the background.
    /// - Throws: ``ProjectionRebuild/Failure`` when a rebuild of the projection is already running.
    /// - Parameter actor: who asked, for the audit record written as the rebuild starts.
    func start(_ projection: any Projection, by actor: AccessAudit.Actor) async throws {
        let connection = DedicatedConnection(like: pool)
        do {
            try await connection.run { try ProjectionRebuild.start(projection, by: actor, on: $0) }
        } catch {
            await connection.close()
            throw error
        }
        logger.info("projection rebuild started", metadata: ["projection": "\(projection.name)"])
        if case .terminated = submit.yield(Job(projection: projection, connection: connection)) {
            // Shutting down: the lock goes with the connection.
            await connection.close()
        }
    }

    func run() async throws {
        await withDiscardingTaskGroup { group in
            for await job in jobs.cancelOnGracefulShutdown() {
                group.addTask { await self.finish(job) }
            }
            submit.finish()
            group.cancelAll()
        }
    }

    private func finish(_ job: Job) async {
        let started = ContinuousClock.now
        let name = job.projection.name
        do {
            let replayed = try await replay(job)
            let late = try await job.connection.run { try ProjectionRebuild.swap(job.projection, on: $0) }
            logger.info(
                "projection rebuilt and swapped in",
                metadata: [
                    "projection": "\(name)", "events": "\(replayed + late)", "written_during_rebuild": "\(late)",
                    "seconds": "\((ContinuousClock.now - started).components.seconds)",
                ])
        } catch is CancellationError {
            logger.notice("projection rebuild stopped by the shutdown; the live tables are unchanged", metadata: ["projection": "\(name)"])
        } catch {
            logger.error(
                "projection rebuild failed; the live tables are unchanged",
                metadata: [
                    "projection": "\(name)", "error": "\((error as? DatabaseError)?.debugDescription ?? "\(error)")",
                ])
        }
        await job.connection.close()
    }

    /// The bulk load of the log as it is, then the events written meanwhile, step by step.
    private func replay(_ job: Job) async throws -> Int {
        let (projection, pool, logger) = (job.projection, pool, logger)
        var replayed = try await job.connection.run { connection in
            // A second session writes half of the bulk load's ranges; without one (the server is
            // out of connections), the first writes them all.
            let helper = try? pool.openConnection()
            defer { helper?.close() }
            return try ProjectionRebuild.bulk(projection, on: connection, alongside: helper) { covered in
                logger.info("projection rebuild progress", metadata: ["projection": "\(projection.name)", "events": "\(covered)"])
            }
        }
        while true {
            try Task.checkCancellation()
            let count = try await job.connection.run { try ProjectionRebuild.step(projection, on: $0) }
            if count == 0 { return replayed }
            replayed += count
            if replayed % 50_000 < count {
                logger.info("projection rebuild progress", metadata: ["projection": "\(projection.name)", "events": "\(replayed)"])
            }
        }
    }
}
