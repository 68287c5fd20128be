import Foundation
import IncidentStore
import Logging
import Metrics
import ServiceLifecycle

/// Keeps the read models current: applies log batches until caught up, then polls.
/// On graceful shutdown it finishes (commits) the batch in hand and stops.
struct ProjectorService: Service {
    let pool: ConnectionPool
    let projection: IncidentsProjection
    let logger: Logger
    var idleInterval: Duration = .milliseconds(100)

    func run() async throws {
        let applied = Counter(label: "incident_projection_events_total", dimensions: [("projection", IncidentsProjection.name)])
        let lag = Gauge(label: "incident_projection_lag_events", dimensions: [("projection", IncidentsProjection.name)])
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                let count = try await pool.withConnection { [projection] in try projection.catchUp(on: $0) }
                if count > 0 {
                    applied.increment(by: count)
                    continue
                }
            } catch let error as DatabaseError where error.isConnectionFailure {
                logger.warning("projector waiting for the database", metadata: ["db.error": "\(error.debugDescription)"])
                try? await Task.sleep(for: .seconds(1))
                continue
            } catch {
                logger.error("projection failed; retrying", metadata: ["error": "\(error)"])
                try? await Task.sleep(for: .seconds(1))
                continue
            }
            // Caught up as far as the commit-safe read allows; what remains is in flight.
            if let behind = try? await pool.withConnection({ connection -> Int in
                try connection.query("""
                    SELECT (SELECT coalesce(max(global_position), 0) FROM events)
                         - coalesce((SELECT global_position FROM projection_checkpoints WHERE name = $1), 0)
                    """, [IncidentsProjection.name]).first?.decode(0) ?? 0
            }) {
                lag.record(max(0, behind))
            }
            try? await Task.sleep(for: idleInterval)
        }
    }
}
