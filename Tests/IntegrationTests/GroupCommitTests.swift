import Foundation
import IncidentTesting
import PostgresLibpq
import Testing

@testable import IncidentStore

/// Grouped commits keep every guarantee of the event store (docs/architecture.md, Concurrency rules) per write.
@Suite("Group commit")
struct GroupCommitTests {
    typealias Body<T> = @Sendable (PostgresConnection) throws -> T

    /// A group commit whose inputs are bodies, run one after another in the group's transaction.
    func commits<T: Sendable>(_ pool: ConnectionPool, of: T.Type) -> GroupCommit<Body<T>, T> {
        GroupCommit(pool: pool, leaders: 1) { bodies, connection in bodies.map { body in Result { try body(connection) } } }
    }

    /// Queues `bodies` behind a write that holds the only leader for a moment, so they commit as one group.
    func grouped<T: Sendable>(
        _ commits: GroupCommit<Body<T>, T>, _ bodies: [Body<T>], blocker: @escaping Body<T>
    ) async -> [Result<T, any Error>] {
        async let blocked: T? = try? await commits.run { connection in
            usleep(300_000)
            return try blocker(connection)
        }
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
        _ = await blocked
        return results
    }

    func transactions(_ pool: ConnectionPool, _ ids: [UUID]) async throws -> Set<String> {
        try await pool.withConnection { connection in
            Set(
                try connection.query(
                    "SELECT DISTINCT transaction_id::text FROM events WHERE event_id = ANY($1::uuid[])",
                    ["{" + ids.map { $0.uuidString }.joined(separator: ",") + "}"]
                ).rows.map { try $0.decode(0, as: String.self) })
        }
    }

    @Test("one group, one transaction; a version conflict and an idempotent retry inside it are answered on their own")
    func oneGroup() async throws {
        try await TestDatabase.with { db in
            let commits = commits(db.pool, of: AppendResult.self)
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

            let results = await grouped(commits, bodies) { try EventStore.append([testEvent()], to: "b-\(UUID())", expectedVersion: 0, on: $0)[0] }
            let stored = results.compactMap { try? $0.get() }
            #expect(stored.count == 33)
            #expect(
                results[30...31].filter {
                    if case .failure(let e) = $0 { (e as? EventStoreError) == .versionConflict(stream: shared, expected: 0, current: 1) } else { false }
                }.count == 1)
            let first = try results[32].get(), retry = try results[33].get()
            #expect(!first.replayed && retry.replayed)
            #expect(first.globalPosition == retry.globalPosition)
            #expect(try await eventCount(db.pool) == 33, "the blocker, 30 streams, the shared one once, the retried event once")
            let written = stored.filter { !$0.replayed }.map(\.eventID)
            #expect(try await transactions(db.pool, written).count == 1, "the whole group committed as one transaction")
        }
    }

    @Test("a write that fails with a database error does not cost the others of its group")
    func failingWrite() async throws {
        try await TestDatabase.with { db in
            let commits = commits(db.pool, of: AppendResult.self)
            var bodies: [@Sendable (PostgresConnection) throws -> AppendResult] = (0..<20).map { _ in
                let event = testEvent()
                return { try EventStore.append([event], to: "s-\(UUID())", expectedVersion: 0, on: $0)[0] }
            }
            bodies.insert(
                { connection in
                    try connection.query("SELECT 1 / 0")
                    return try EventStore.append([testEvent()], to: "never-\(UUID())", expectedVersion: 0, on: connection)[0]
                }, at: 7)
            let results = await grouped(commits, bodies) { try EventStore.append([testEvent()], to: "b-\(UUID())", expectedVersion: 0, on: $0)[0] }
            for (index, result) in results.enumerated() {
                switch result {
                case .success: #expect(index != 7)
                case .failure(let error): #expect(index == 7 && (error as? DatabaseError)?.sqlState == "22012", "\(error)")
                }
            }
            let count = try await eventCount(db.pool)
            #expect(count == 21, "the blocker and the 20 others")
        }
    }

    @Test("reports through the service: concurrent duplicates are stored once, the rest all stored")
    func concurrentReports() async throws {
        try await TestDatabase.with(maxConnections: 8) { db in
            let service = IncidentService(pool: db.pool, reference: try await ReferenceData.load(db.pool), keys: TestKeys.ring)
            let admin = Principal(name: "admin", role: .admin)
            let duplicate = UUID()
            let outcomes = await withTaskGroup(of: Result<WriteOutcome, any Error>.self) { group in
                for n in 0..<64 {
                    group.addTask {
                        let id = n % 8 == 0 ? duplicate : UUID()
                        // The same file eight times (idempotent), and 56 distinct incidents.
                        do {
                            return .success(
                                try await service.report(
                                    Self.body(id, id == duplicate ? "Same report." : "Report \(n)."), idempotencyKey: nil, by: admin, metadata: EventMetadata()))
                        } catch { return .failure(error) }
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

    @Test("one group of reports, one statement: new ones stored, retries replayed, conflicts answered on their own")
    func reportGroup() async throws {
        try await TestDatabase.with { db in
            let service = IncidentService(pool: db.pool, reference: try await ReferenceData.load(db.pool), keys: TestKeys.ring)
            let admin = Principal(name: "admin", role: .admin)
            func line(_ body: JSONValue, key: UUID? = nil) throws -> ReportLine {
                let (validated, eventID) = try service.prepareReport(body, idempotencyKey: key)
                return ReportLine(validated: validated, eventID: eventID, metadata: EventMetadata(principal: "admin", role: "admin"))
            }
            // Already in the log: one report to retry, one to report again, one erased.
            let stored = UUID(), again = UUID(), erased = UUID()
            _ = try await service.report(Self.body(stored, "Stored.", personal: true), idempotencyKey: nil, by: admin, metadata: EventMetadata())
            _ = try await service.report(Self.body(again, "Reported once."), idempotencyKey: nil, by: admin, metadata: EventMetadata())
            _ = try await service.report(Self.body(erased, "Erased.", personal: true), idempotencyKey: nil, by: admin, metadata: EventMetadata())
            _ = try await service.erasePersonalData(erased, reason: "Witness at risk.", by: admin, metadata: EventMetadata(), audit: .local)
            let before = try await eventCount(db.pool)

            let twice = UUID(), reusedKey = UUID()
            let lines = [
                try line(Self.body(UUID(), "New, with personal data.", personal: true)),  // 0 stored
                try line(Self.body(UUID(), "New, without.")),  // 1 stored
                try line(Self.body(stored, "Stored.", personal: true)),  // 2 replay
                try line(Self.body(again, "Reported once."), key: UUID()),  // 3 incident_exists
                try line(Self.body(erased, "Erased.", personal: true), key: UUID()),  // 4 personal_data_erased
                try line(Self.body(twice, "Twice in one group.", personal: true)),  // 5 stored
                try line(Self.body(twice, "Twice in one group.", personal: true)),  // 6 replay of 5
                try line(Self.body(UUID(), "One key."), key: reusedKey),  // 7 stored
                try line(Self.body(UUID(), "The same key, another incident."), key: reusedKey),  // 8 idempotency conflict
            ]
            let answers = try await db.pool.withConnection { connection in
                try connection.transaction {
                    try IncidentService.store(lines, vault: PersonalDataVault(keys: TestKeys.ring), narrative: NarrativeVault(keys: TestKeys.ring), on: $0)
                }
            }
            #expect(
                answers.map(Self.code) == [
                    "stored", "stored", "replayed", "incident_exists", "personal_data_erased",
                    "stored", "replayed", "stored", "idempotency_conflict",
                ])
            #expect(try answers[6].get().globalPosition == answers[5].get().globalPosition)
            #expect(try await eventCount(db.pool) == before + 4)
            let written = answers.compactMap { try? $0.get() }.filter { !$0.replayed }.map(\.eventID)
            #expect(try await transactions(db.pool, written).count == 1)
            // The personal data sealed in the group opens with the key stored in the group.
            let view = try await service.incident(
                try answers[0].get().incidentID, history: false, for: admin, personal: .init(by: .local, reason: "check the group's key"))
            #expect(view.personal?.objectValue?["victims"]?.arrayValue?.first?.objectValue?["name"] == "Arben Krasniqi")
        }
    }

    /// A report of a protest in Prizren, with a victim's personal data if asked.
    private static func body(_ id: UUID, _ summary: String, personal: Bool = false) -> JSONValue {
        var fields: [String: JSONValue] = [
            "incident_id": .string(id.uuidString), "category": "unrest", "subcategory": "peaceful_protest",
            "occurred_at": "2026-11-20", "municipality": "Prizren", "source_type": "media", "summary": .string(summary),
        ]
        if personal { fields["personal"] = ["victims": [["name": "Arben Krasniqi", "phone": "+383 44 123 456"]]] }
        return .object(fields)
    }

    /// An answer of the group as the API names it.
    private static func code(_ answer: Result<WriteOutcome, any Error>) -> String {
        switch answer {
        case .success(let outcome): outcome.replayed ? "replayed" : "stored"
        case .failure(ServiceError.state(.incidentExists)): "incident_exists"
        case .failure(ServiceError.state(.personalDataErased)): "personal_data_erased"
        case .failure(ServiceError.idempotencyConflict): "idempotency_conflict"
        case .failure(let error): "\(error)"
        }
    }
}
