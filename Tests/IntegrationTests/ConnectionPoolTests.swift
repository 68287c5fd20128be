import Foundation
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

@Suite("Connection pool")
struct ConnectionPoolTests {
    @Test("a connection the server dropped is replaced on next use")
    func droppedConnectionReplaced() async throws {
        try await TestDatabase.with { db in
            let pool = ConnectionPool(configuration: .init(conninfo: db.conninfo, maxConnections: 1))
            let first: Int32 = try await pool.withConnection { $0.backendPID }
            let terminated: Bool = try await db.pool.withConnection { try $0.query("SELECT pg_terminate_backend($1)", [Int(first)]).first!.decode(0) }
            #expect(terminated)
            // Wait until the server has really ended that backend.
            for _ in 0..<100 {
                let alive: Int = try await db.pool.withConnection { try $0.query("SELECT count(*) FROM pg_stat_activity WHERE pid = $1", [Int(first)]).first!.decode(0) }
                if alive == 0 { break }
                try await Task.sleep(for: .milliseconds(20))
            }
            let (second, one): (Int32, Int) = try await pool.withConnection { ($0.backendPID, try $0.query("SELECT 1").first!.decode(0)) }
            #expect(one == 1)
            #expect(second != first)
            await pool.close()
        }
    }

    @Test("the pool never opens more connections than its size, and every request is served")
    func bounded() async throws {
        try await TestDatabase.with { db in
            let pool = ConnectionPool(configuration: .init(conninfo: db.conninfo, maxConnections: 3))
            let pids = try await withThrowingTaskGroup(of: Int32.self) { group in
                for _ in 0..<40 {
                    group.addTask {
                        try await pool.withConnection { connection in
                            try connection.query("SELECT pg_sleep(0.005)")
                            return connection.backendPID
                        }
                    }
                }
                return try await group.reduce(into: Set<Int32>()) { $0.insert($1) }
            }
            #expect(pids.count <= 3)
            #expect(pool.statistics.open <= 3)
            await pool.close()
        }
    }

    @Test("a body that throws inside a transaction rolls it back and the connection stays usable")
    func transactionRollback() async throws {
        struct Boom: Error {}
        try await TestDatabase.with { db in
            try await db.pool.withConnection { try $0.execute("CREATE TABLE t (n int)") }
            await #expect(throws: Boom.self) {
                try await db.pool.withTransaction { connection in
                    try connection.query("INSERT INTO t VALUES ($1)", [1])
                    throw Boom()
                }
            }
            let count: Int = try await db.pool.withConnection { try $0.query("SELECT count(*) FROM t").first!.decode(0) }
            #expect(count == 0)
        }
    }

    @Test("SQL errors become typed errors with SQLSTATE; parameters are never SQL")
    func typedErrorsAndParameters() async throws {
        try await TestDatabase.with { db in
            let error = await #expect(throws: DatabaseError.self) {
                try await db.pool.withConnection { try $0.query("SELECT * FROM no_such_table") }
            }
            #expect(error?.sqlState == "42P01")
            #expect(error?.isConnectionFailure == false)
            #expect(error.map { "\($0)" } == "database error (SQLSTATE 42P01)")
            let hostile = "'); DROP TABLE events; --"
            let echoed: String = try await db.pool.withConnection { try $0.query("SELECT $1::text", [hostile]).first!.decode(0) }
            #expect(echoed == hostile)
            #expect(try await eventCount(db.pool) == 0)
        }
    }

    @Test("a statement planned once leaves the session planning with values again, also when it fails")
    func genericPlanRestored() async throws {
        try await TestDatabase.with { db in
            try await db.pool.withConnection { connection in
                func mode() throws -> String { try connection.query("SHOW plan_cache_mode").first!.decode(0) }
                #expect(try mode() == "force_custom_plan")
                // The pool's sessions: no JIT (compiling costs more than the statements run), READ COMMITTED outside blocks.
                #expect(try connection.query("SHOW jit").first!.decode(0, as: String.self) == "off")
                #expect(try connection.query("SHOW default_transaction_isolation").first!.decode(0, as: String.self) == "read committed")
                let inside: String = try connection.queryWithGenericPlan("SELECT current_setting('plan_cache_mode') || $1::text", ["!"]).first!.decode(0)
                #expect(inside == "force_generic_plan!")
                #expect(try mode() == "force_custom_plan")
                // Failing on its own, and failing inside a transaction that is then rolled back.
                // The statement's own error, and the connection out of pipeline mode, idle and usable.
                let error = #expect(throws: DatabaseError.self) { try connection.queryWithGenericPlan("SELECT 1 / $1::int", [0]) }
                #expect(error?.sqlState == "22012")
                #expect(connection.isUsable)
                #expect(try mode() == "force_custom_plan")
                // Inside a transaction, its writes are the transaction's.
                try connection.execute("CREATE TEMPORARY TABLE generic_plan_probe (n int)")
                try connection.execute("BEGIN")
                #expect(try connection.queryWithGenericPlan("INSERT INTO generic_plan_probe VALUES ($1::int)", [7]).affectedRows == 1)
                try connection.execute("ROLLBACK")
                #expect(try connection.query("SELECT count(*) FROM generic_plan_probe").first!.decode(0, as: Int.self) == 0)
                #expect(try mode() == "force_custom_plan")
                // Prepared statements dropped behind its back (a pooler's DISCARD ALL): prepared again.
                try connection.execute("DEALLOCATE ALL")
                #expect(try connection.queryWithGenericPlan("SELECT $1::int + 1", [1]).first!.decode(0, as: Int.self) == 2)
                #expect(try connection.query("SELECT $1::int + 1", [2]).first!.decode(0, as: Int.self) == 3)
                try connection.execute("DEALLOCATE ALL")
                #expect(try connection.query("SELECT $1::int + 1", [2]).first!.decode(0, as: Int.self) == 3)
                #expect(try mode() == "force_custom_plan")
                try connection.execute("BEGIN")
                #expect(throws: DatabaseError.self) { try connection.queryWithGenericPlan("SELECT 1 / $1::int", [0]) }
                try connection.execute("ROLLBACK")
                #expect(try mode() == "force_custom_plan")
            }
        }
    }

    @Test("an unreachable server is a connection failure")
    func unreachable() async throws {
        let pool = ConnectionPool(configuration: .init(conninfo: "host=/nonexistent-socket-dir port=1 connect_timeout=1", maxConnections: 1))
        let error = await #expect(throws: DatabaseError.self) {
            try await pool.withConnection { try $0.query("SELECT 1") }
        }
        #expect(error?.isConnectionFailure == true)
        await pool.close()
    }
}
