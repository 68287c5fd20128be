import Foundation
import IncidentTesting
import PostgresLibpq
import Testing

/// ``ReadRouting`` on one server: a "standby" that is the primary itself (never behind), and one
/// that does not answer. The failover tests run it against a real standby.
@Suite("Read routing: a standby while it answers and is current, else the primary")
struct ReadRoutingTests {
    @Test("a standby that answers and has everything serves the reads; its lag is zero")
    func currentStandbyServes() async throws {
        try await TestDatabase.with { db in
            let replica = ConnectionPool(configuration: .init(conninfo: db.conninfo, maxConnections: 1))
            let reads = ReadRouting(primary: db.pool, replica: replica, maxLag: .seconds(5))
            #expect(!reads.usesReplica, "not before a measurement")
            #expect(await reads.measure() == .zero)
            #expect(reads.usesReplica)
            let pid: Int32 = try await reads.withConnection { $0.backendPID }
            let replicaPID: Int32 = try await replica.withConnection { $0.backendPID }
            #expect(pid == replicaPID, "the read ran on the standby's pool")
            #expect(reads.reads[.replica] == 1 && reads.reads[.primary] == nil)
            await replica.close()
        }
    }

    @Test("a standby that does not answer is skipped: reads go to the primary, and fail none")
    func unreachableStandbySkipped() async throws {
        try await TestDatabase.with { db in
            let port = Int.random(in: 40_000...49_000)
            let replica = ConnectionPool(configuration: .init(conninfo: "host=127.0.0.1 port=\(port) connect_timeout=1", maxConnections: 1))
            let reads = ReadRouting(primary: db.pool, replica: replica)
            #expect(await reads.measure() == nil)
            #expect(!reads.usesReplica)
            #expect(reads.lag == nil, "never known current")
            let one: Int = try await reads.withConnection { try $0.query("SELECT 1").first!.decode(0) }
            #expect(one == 1)
            #expect(reads.reads[.primary] == 1 && reads.reads[.replica] == nil)
            await replica.close()
        }
    }
}
