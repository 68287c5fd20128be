import Foundation
import IncidentStore
import IncidentTesting
import Testing

/// Grouped commits keep every guarantee of the event store (PRODUCT.md §4) per write.
@Suite("Group commit")
struct GroupCommitTests {
    /// Queues `bodies` behind a write that holds the only leader for a moment, so they commit as one group.
    func grouped<T: Sendable>(
        _ commits: GroupCommit, _ bodies: [@Sendable (PostgresConnection) throws -> T]
    ) async -> [Result<T, any Error>] {
        async let blocker: Void? = try? await commits.run { _ in usleep(300_000) }
        try? await Task.sleep(for: .milliseconds(50))
        let results = await withTaskGroup(of: (Int, Result<T, any Error>).self) { group in
            for (index, body) in bodies.enumerated() {
                group.addTask {
                    do { return (index, .success(try await commits.run(body))) } catch { return (index, .failure(error)) }
                }
            }
            var results: [(Int, Result<T, any Error>)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }.map(\.1)
        }
        _ = await blocker
        return results
    }

    func transactions(_ pool: ConnectionPool, _ ids: [UUID]) async throws -> Set<String> {
        try await pool.withConnection { connection in
            Set(try connection.query("SELECT DISTINCT transaction_id::text FROM events WHERE event_id = ANY($1::uuid[])",
                                     ["{" + ids.map { $0.uuidString }.joined(separator: ",") + "}"]).rows.map { try $0.decode(0, as: String.self) })
        }
    }

    @Test("one group, one transaction; a version conflict and an idempotent retry inside it are answered on their own")
    func oneGroup() async throws {
        try await TestDatabase.with { db in
            let commits = GroupCommit(pool: db.pool, leaders: 1)
            let shared = "s-\(UUID())"
            let retried = testEvent()
            var bodies: [@Sendable (PostgresConnection) throws -> AppendResult] = (0..<30).map { _ in
                let event = testEvent()
                return { try EventStore.append([event], to: "s-\(UUID())", expectedVersion: 0, on: $0)[0] }
            }
            // Two writers race for version 1 of one stream; a request and its retry travel together.
            bodies.append { try EventStore.append([testEvent()], to: shared, expectedVersion: 0, on: $0)[0] }
            bodies.append { try EventStore.append([testEvent()], to: shared, expectedVersion: 0, on: $0)[0] }
            bodies.append { try EventStore.append([retried], to: "r-\(retried.eventID)", expectedVersion: 0, on: $0)[0] }
            bodies.append { try EventStore.append([retried], to: "r-\(retried.eventID)", expectedVersion: 0, on: $0)[0] }

            let results = await grouped(commits, bodies)
            let stored = results.compactMap { try? $0.get() }
            #expect(stored.count == 33)
            #expect(results[30...31].filter { if case .failure(let e) = $0 { (e as? EventStoreError) == .versionConflict(stream: shared, expected: 0, current: 1) } else { false } }.count == 1)
            let first = try results[32].get(), retry = try results[33].get()
            #expect(!first.replayed && retry.replayed)
            #expect(first.globalPosition == retry.globalPosition)
            #expect(try await eventCount(db.pool) == 32, "30 streams, the shared one once, the retried event once")
            let written = stored.filter { !$0.replayed }.map(\.eventID)
            #expect(try await transactions(db.pool, written).count == 1, "the whole group committed as one transaction")
        }
    }

    @Test("a write that fails with a database error does not cost the others of its group")
    func failingWrite() async throws {
        try await TestDatabase.with { db in
            let commits = GroupCommit(pool: db.pool, leaders: 1)
            var bodies: [@Sendable (PostgresConnection) throws -> AppendResult] = (0..<20).map { _ in
                let event = testEvent()
                return { try EventStore.append([event], to: "s-\(UUID())", expectedVersion: 0, on: $0)[0] }
            }
            bodies.insert({ connection in
                try connection.query("SELECT 1 / 0")
                return try EventStore.append([testEvent()], to: "never-\(UUID())", expectedVersion: 0, on: connection)[0]
            }, at: 7)
            let results = await grouped(commits, bodies)
            for (index, result) in results.enumerated() {
                switch result {
                case .success: #expect(index != 7)
                case .failure(let error): #expect(index == 7 && (error as? DatabaseError)?.sqlState == "22012", "\(error)")
                }
            }
            let count = try await eventCount(db.pool)
            #expect(count == 20)
        }
    }

    @Test("reports through the service: concurrent duplicates are stored once, the rest all stored")
    func concurrentReports() async throws {
        try await TestDatabase.with(maxConnections: 8) { db in
            let service = IncidentService(pool: db.pool, reference: try await ReferenceData.load(db.pool))
            let admin = Principal(name: "admin", role: .admin)
            let duplicate = UUID()
            func body(_ id: UUID, _ summary: String) -> JSONValue {
                ["incident_id": .string(id.uuidString), "category": "unrest", "subcategory": "peaceful_protest", "occurred_at": "2026-11-20",
                 "municipality": "Prizren", "source_type": "media", "summary": .string(summary)]
            }
            let outcomes = await withTaskGroup(of: Result<WriteOutcome, any Error>.self) { group in
                for n in 0..<64 {
                    group.addTask {
                        let id = n % 8 == 0 ? duplicate : UUID()
                        // The same file eight times (idempotent), and 56 distinct incidents.
                        do { return .success(try await service.report(body(id, id == duplicate ? "Same report." : "Report \(n)."), idempotencyKey: nil, by: admin, metadata: EventMetadata())) }
                        catch { return .failure(error) }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let stored = outcomes.compactMap { try? $0.get() }
            #expect(stored.count == 64, "every report answered with success (new or replay)")
            #expect(stored.filter(\.replayed).count == 7)
            let count = try await eventCount(db.pool)
            #expect(count == 57)
        }
    }
}
