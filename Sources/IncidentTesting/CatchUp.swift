import IncidentStore
import PostgresLibpq

/// Brings each projection to the end of the log (the tests run no projector).
///
/// A round that applies nothing does not mean the end: reads stop before any transaction still
/// running anywhere in the cluster, and other tests' databases share it. So this waits on the lag.
public func catchUpFully(_ projections: [any Projection], _ pool: ConnectionPool) async throws {
    for projection in projections {
        while try await pool.withConnection({ try projection.lag(on: $0) }) > 0 {
            if try await pool.withConnection({ try projection.catchUp(on: $0, limit: 500) }) == 0 {
                try await Task.sleep(for: .milliseconds(10))
            }
        }
    }
}
