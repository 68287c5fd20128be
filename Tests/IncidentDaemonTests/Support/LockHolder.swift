import Foundation
import HTTPTypes
import HummingbirdTesting
import IncidentStore
import IncidentTesting
import Logging
import PostgresLibpq
import Testing

@testable import IncidentDaemon

/// A session of the test's own holding a lock, so that the daemon's statements wait on it.
final class LockHolder: @unchecked Sendable {
    let connection: PostgresConnection

    /// Opens a transaction on `conninfo` and takes `lock` (e.g. `LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE`).
    static func take(_ lock: String, conninfo: String) async throws -> LockHolder {
        try await onOwnThread {
            let holder = LockHolder(connection: try PostgresConnection(conninfo: conninfo))
            try holder.connection.execute("BEGIN")
            try holder.connection.execute(lock)
            return holder
        }
    }

    private init(connection: PostgresConnection) { self.connection = connection }

    func release() async throws {
        try await onOwnThread { [connection] in
            try connection.execute("ROLLBACK")
            connection.close()
        }
    }
}

/// Sessions waiting for a lock on `table`.
func lockWaiters(on table: String, _ pool: ConnectionPool) async throws -> Int {
    try await pool.withConnection { connection in
        try connection.query(
            """
            SELECT count(*)::int FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = $1 AND NOT l.granted
            """, [table]
        ).first!.decode(0)
    }
}
