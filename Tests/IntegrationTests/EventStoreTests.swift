import Foundation
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

@Suite("Event store guarantees (docs/architecture.md, Concurrency rules)")
struct EventStoreTests {
    @Test("50 concurrent appends with the same expected version: exactly one wins", arguments: [0, 1])
    func concurrentAppendsConflict(startVersion: Int) async throws {
        try await TestDatabase.with(maxConnections: 16) { db in
            let store = db.store
            let stream = "incident-\(UUID())"
            if startVersion > 0 { try await store.append([testEvent()], to: stream, expectedVersion: 0) }

            let outcomes = try await withThrowingTaskGroup(of: Result<AppendResult, EventStoreError>.self) { group in
                for _ in 0..<50 {
                    group.addTask {
                        do {
                            return .success(try await store.append([testEvent()], to: stream, expectedVersion: startVersion)[0])
                        } catch let error as EventStoreError {
                            return .failure(error)
                        }
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            let successes = outcomes.compactMap { try? $0.get() }
            let conflicts = outcomes.compactMap { outcome -> EventStoreError? in
                if case .failure(let error) = outcome { return error }
                return nil
            }
            #expect(successes.count == 1)
            #expect(successes.first?.streamVersion == startVersion + 1)
            #expect(conflicts.count == 49)
            for conflict in conflicts {
                #expect(conflict == .versionConflict(stream: stream, expected: startVersion, current: startVersion + 1))
            }
            #expect(try await eventCount(db.pool, stream: stream) == startVersion + 1)
        }
    }

    @Test("an expected version ahead of the stream is a conflict, not a gap")
    func expectedVersionAhead() async throws {
        try await TestDatabase.with { db in
            let stream = "s-\(UUID())"
            try await db.store.append([testEvent()], to: stream, expectedVersion: 0)
            await #expect(throws: EventStoreError.versionConflict(stream: stream, expected: 5, current: 1)) {
                try await db.store.append([testEvent()], to: stream, expectedVersion: 5)
            }
            await #expect(throws: EventStoreError.versionConflict(stream: stream, expected: 0, current: 1)) {
                try await db.store.append([testEvent()], to: stream, expectedVersion: 0)
            }
            #expect(try await eventCount(db.pool, stream: stream) == 1)
        }
    }

    @Test("an idempotent re-append returns the original position and writes nothing")
    func idempotentReappend() async throws {
        try await TestDatabase.with { db in
            let stream = "s-\(UUID())"
            let event = testEvent(data: .object(["summary": .string("roadblock near Jarinje"), "killed": .number(0)]))
            let original = try await db.store.append([event], to: stream, expectedVersion: 0)[0]
            #expect(!original.replayed)
            let countBefore = try await eventCount(db.pool)

            // Same id and content, even with other metadata and a stale expected version: a replay.
            var retry = event
            retry.metadata = EventMetadata(principal: "tester", requestID: "retry-2")
            let replay = try await db.store.append([retry], to: stream, expectedVersion: 0)[0]
            #expect(replay.replayed)
            #expect(replay.globalPosition == original.globalPosition)
            #expect(replay.streamVersion == original.streamVersion)
            #expect(replay.recordedAt == original.recordedAt)
            #expect(try await eventCount(db.pool) == countBefore)

            // Same id, other content: a typed idempotency conflict, nothing written.
            var changed = event
            changed.data = .object(["summary": .string("roadblock near Jarinje"), "killed": .number(1)])
            await #expect(throws: EventStoreError.idempotencyConflict(eventID: event.eventID)) {
                try await db.store.append([changed], to: stream, expectedVersion: 1)
            }
            // Same id and data aimed at another stream is other content too.
            await #expect(throws: EventStoreError.idempotencyConflict(eventID: event.eventID)) {
                try await db.store.append([event], to: "s-\(UUID())", expectedVersion: 0)
            }
            #expect(try await eventCount(db.pool) == countBefore)
        }
    }

    @Test("concurrent retries of one event store it once and all get its position")
    func concurrentRetries() async throws {
        try await TestDatabase.with(maxConnections: 10) { db in
            let stream = "s-\(UUID())"
            let event = testEvent()
            let results = try await withThrowingTaskGroup(of: AppendResult.self) { group in
                for _ in 0..<20 {
                    group.addTask { try await db.store.append([event], to: stream, expectedVersion: 0)[0] }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.count == 20)
            #expect(Set(results.map(\.globalPosition)).count == 1)
            #expect(results.filter { !$0.replayed }.count == 1)
            #expect(try await eventCount(db.pool, stream: stream) == 1)
        }
    }

    @Test("several events append in order with consecutive versions")
    func multiEventAppend() async throws {
        try await TestDatabase.with { db in
            let stream = "s-\(UUID())"
            let events = (1...3).map { testEvent(data: .object(["n": .number(Double($0))])) }
            let results = try await db.store.append(events, to: stream, expectedVersion: 0)
            #expect(results.map(\.streamVersion) == [1, 2, 3])
            #expect(results.map(\.eventID) == events.map(\.eventID))
            let read = try await db.store.readStream(stream)
            #expect(read.map(\.eventID) == events.map(\.eventID))
            #expect(read.map(\.data) == events.map(\.data))
            #expect(read[0].metadata.principal == "tester")
        }
    }

    @Test("16 concurrent writers, 20,000 events: a reader following by checkpoint gets each exactly once")
    func gaplessReadUnderConcurrentWriters() async throws {
        let writers = 16
        let perWriter = 1_250
        try await TestDatabase.with(maxConnections: writers + 2) { db in
            let store = db.store
            let reader = Task { () -> (ids: [UUID], naiveMissed: Int) in
                var checkpoint = Checkpoint.start
                var seen: [UUID] = []
                var naiveLast: Int64 = 0
                var naiveMissed = 0
                while seen.count < writers * perWriter {
                    let page = try await store.read(after: checkpoint, limit: 500)
                    #expect(page.checkpoint >= checkpoint)
                    checkpoint = page.checkpoint
                    for event in page.events {
                        // A reader that trusted positions alone would have skipped these.
                        if event.globalPosition < naiveLast { naiveMissed += 1 }
                        naiveLast = max(naiveLast, event.globalPosition)
                    }
                    seen += page.events.map(\.eventID)
                    if page.events.isEmpty { try await Task.sleep(for: .milliseconds(5)) }
                    try Task.checkCancellation()
                }
                // Nothing more arrives once every writer is done.
                let rest = try await store.read(after: checkpoint, limit: 500)
                return (seen + rest.events.map(\.eventID), naiveMissed)
            }

            let written = try await Self.writeConcurrently(db, writers: writers, perWriter: perWriter)
            let read = try await withThrowingTaskGroup(of: (ids: [UUID], naiveMissed: Int).self) { group in
                group.addTask { try await reader.value }
                group.addTask {
                    try await Task.sleep(for: .seconds(120))
                    reader.cancel()
                    throw CancellationError()
                }
                let value = try await group.next()!
                group.cancelAll()
                return value
            }
            let readSet = Set(read.ids)
            let missing = Set(written).subtracting(readSet)
            let extra = readSet.subtracting(written)
            let duplicates = read.ids.count - readSet.count
            #expect(written.count == writers * perWriter)
            #expect(missing.isEmpty, "\(missing.count) committed events were skipped")
            #expect(extra.isEmpty, "\(extra.count) events were read that no writer wrote")
            #expect(duplicates == 0, "\(duplicates) events were read twice")
            print("gapless read: \(read.ids.count) events read; a position-only reader would have skipped \(read.naiveMissed)")
        }
    }

    /// `writers` tasks each appending `perWriter` events in batches of 1 to 4, some transactions lingering before they commit; returns the ids written.
    private static func writeConcurrently(_ db: TestDatabase, writers: Int, perWriter: Int) async throws -> [UUID] {
        try await withThrowingTaskGroup(of: [UUID].self) { group in
            for writer in 0..<writers {
                group.addTask {
                    var ids: [UUID] = []
                    var index = 0
                    while index < perWriter {
                        // Batches of 1 to 4 events in transactions that sometimes linger before
                        // committing, so lower positions commit after higher ones.
                        let count = min(perWriter - index, 1 + (index + writer) % 4)
                        let events = (0..<count).map { _ in testEvent() }
                        let stream = "w\(writer)-\(index)"
                        let linger = (index + writer) % 7 == 0
                        try await db.pool.withTransaction { connection in
                            _ = try EventStore.append(events, to: stream, expectedVersion: 0, on: connection)
                            if linger { try connection.query("SELECT pg_sleep(0.003)") }
                        }
                        ids += events.map(\.eventID)
                        index += count
                    }
                    return ids
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
    }

    @Test("the log is read in pages after a checkpoint, and a token round-trips")
    func pagedRead() async throws {
        try await TestDatabase.with { db in
            for i in 0..<25 { try await db.store.append([testEvent()], to: "s-\(i)", expectedVersion: 0) }
            // Reads wait for transactions still running anywhere in the cluster (other tests too),
            // so poll until all 25 arrive, in pages of at most 10.
            var checkpoint = Checkpoint.start
            var total = 0
            let deadline = ContinuousClock.now + .seconds(30)
            while total < 25 && ContinuousClock.now < deadline {
                let page = try await db.store.read(after: Checkpoint(token: checkpoint.token)!, limit: 10)
                #expect(page.events.count <= 10)
                if page.events.isEmpty { try await Task.sleep(for: .milliseconds(10)) }
                total += page.events.count
                checkpoint = page.checkpoint
            }
            #expect(total == 25)
            #expect(try await db.store.read(after: checkpoint, limit: 10).events.isEmpty)
        }
    }

    @Test("UPDATE, DELETE and TRUNCATE on events fail, also for the table's owner")
    func appendOnlyForOwner() async throws {
        try await TestDatabase.with { db in
            try await db.store.append([testEvent()], to: "s-1", expectedVersion: 0)
            for statement in ["UPDATE events SET type = 'Forged'", "DELETE FROM events", "TRUNCATE events"] {
                let error = await #expect(throws: DatabaseError.self) {
                    try await db.pool.withConnection { try $0.execute(statement) }
                }
                #expect(error?.sqlState == "55000", "\(statement): \(String(reflecting: error))")
                #expect(error?.message.contains("append-only") == true)
            }
            #expect(try await eventCount(db.pool) == 1)
            let owner: String = try await db.pool.withConnection { try $0.query("SELECT tableowner::text FROM pg_tables WHERE tablename = 'events'").first!.decode(0) }
            let current: String = try await db.pool.withConnection { try $0.query("SELECT current_user::text").first!.decode(0) }
            #expect(owner == current, "the test ran as the table's owner")
        }
    }

    @Test("the daemon's role may read and append but not UPDATE or DELETE events")
    func leastPrivilegeRole() async throws {
        try await TestDatabase.with { db in
            let app = ConnectionPool(configuration: .init(conninfo: db.conninfo, maxConnections: 1, setupStatements: ["SET ROLE incident_app"]))
            let store = EventStore(pool: app)
            try await store.append([testEvent()], to: "s-1", expectedVersion: 0)
            #expect(try await store.readStream("s-1").count == 1)
            for statement in ["UPDATE events SET type = 'Forged'", "DELETE FROM events", "TRUNCATE events"] {
                let error = await #expect(throws: DatabaseError.self) {
                    try await app.withConnection { try $0.execute(statement) }
                }
                #expect(error?.sqlState == "42501", "\(statement) must be refused by privilege")
            }
            await app.close()
        }
    }
}
