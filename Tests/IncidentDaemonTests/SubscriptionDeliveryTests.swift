import Foundation
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Synchronization
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Webhook subscriptions end to end: `incidentd serve` processes deliver to a receiver process
/// that verifies every signature, over a seeded world of reports, amendments and decisions.
@Suite("Subscriptions: webhooks to a real receiver, faults, dead letters")
struct SubscriptionDeliveryTests {
    /// Fast retries, so that a test sees many in seconds.
    static let fastRetries = ["--allow-webhook-host", "127.0.0.1", "--webhook-retry-min", "100ms", "--webhook-retry-max", "1s"]

    @Test("three filters: the receiver gets exactly the matching events, in log order, once each, every signature verified")
    func threeFilters() async throws {
        try await TestDatabase.with { db in
            let (reporter, reviewer, admin) = try await Self.staff(db)
            let receiver = try WebhookReceiver()
            defer { receiver.close() }
            let port = TestPorts.free()
            let daemon = try Daemon(conninfo: db.conninfo, port: port, arguments: Self.fastRetries)
            defer { daemon.stop() }
            try await daemon.ready()
            let world = SeededWorld(ports: [port], reporter: reporter, reviewer: reviewer)
            try await world.seed(12)

            // Made after part of the world, from the beginning: the rest arrives while they deliver.
            let filters: [(name: String, filter: JSONValue, matches: (SeededWorld.Event) -> Bool)] = [
                (
                    "mitrovica-violence", ["categories": ["ethnic_violence"], "districts": ["Mitrovicë"]],
                    { $0.incident.category == "ethnic_violence" && $0.incident.district == "XK-MIT" }
                ),
                (
                    "decisions-pej-pri", ["event_types": ["IncidentVerified", "IncidentRejected"], "municipalities": ["Pejë", "XK-PRI-01"]],
                    { ["IncidentVerified", "IncidentRejected"].contains($0.type) && ["Pejë", "Prishtinë"].contains($0.incident.municipality) }
                ),
                (
                    "deaths-open", ["min_killed": 1, "statuses": ["reported", "verified"]],
                    { $0.incident.killed >= 1 && ["reported", "verified"].contains($0.incident.status) }
                ),
            ]
            var secrets: [String: String] = [:]
            for (name, filter, _) in filters {
                secrets["/" + name] = try await Self.subscribe(name, filter: filter, url: receiver.url + "/" + name, port: port, admin: admin)
            }
            try receiver.setSecrets(secrets)
            try await world.seed(28)

            for (name, _, matches) in filters {
                let expected = world.expected(matches)
                try await waitFor("\(name) to receive \(expected.count) events") { receiver.received(at: "/" + name).ids.count >= expected.count }
            }
            try await Task.sleep(for: .seconds(2))  // time for anything extra to arrive
            let requests = receiver.requests
            for (name, _, matches) in filters {
                let expected = world.expected(matches)
                let (ids, repeats) = receiver.received(at: "/" + name)
                let tries = requests.filter { $0.path == "/" + name }
                print(
                    "subscription figures (\(name)): \(world.events.count) events in the log, \(expected.count) matching, \(tries.count) requests, "
                        + "\(ids.count) received, \(repeats) repeats, \(tries.filter { !$0.verified }.count) before its secret was known")
                #expect(!expected.isEmpty)
                #expect(ids == expected, "\(name): exactly the matching events, in log order")
                #expect(repeats == 0)
                let shown = await get(port, "/v1/admin/subscriptions/\(name)", token: admin).json?.objectValue
                #expect(shown?["delivered"]?.numberValue.map(Int.init) == expected.count)
                #expect(shown?["lag_events"]?.numberValue == 0)
                #expect(shown?["last_delivery"]?.objectValue?["outcome"]?.stringValue == "delivered")
            }
            Self.checkBodies(requests, world)
        }
    }

    @Test(
        "faults: 500s, a receiver hanging past the timeout, then stopped, then back; the dispatching daemon killed -9 twice mid-delivery, a standby taking over: every event once, in order, repeats only with the same webhook-id"
    )
    func faults() async throws {
        try await TestDatabase.with { db in
            let (reporter, reviewer, admin) = try await Self.staff(db)
            let receiver = try WebhookReceiver()
            defer { receiver.close() }
            let ports = [TestPorts.free(), TestPorts.free()]
            let arguments = Self.fastRetries + ["--webhook-timeout", "1s"]
            var daemons: [Daemon] = []
            defer { for daemon in daemons { daemon.stop() } }
            for port in ports {
                daemons.append(try Daemon(conninfo: db.conninfo, port: port, arguments: arguments))
                try await daemons.last!.ready()  // the first takes the locks, the second stands by
            }

            try receiver.setSecrets(["/all": try await Self.subscribe("all", url: receiver.url + "/all", port: ports[0], admin: admin)])

            let world = SeededWorld(ports: ports, reporter: reporter, reviewer: reviewer)
            let seeding = Task { try await world.seed(400, pause: .milliseconds(40)) }
            func received() -> Int { receiver.received(at: "/all").ids.count }

            try await waitFor("the first deliveries") { received() >= 10 }
            try await Self.receiverFails(receiver)
            var mark = received()
            try await waitFor("deliveries after the receiver returned") { received() >= mark + 10 }

            // Killed while a request is in flight: the receiver answers slowly, and the kill
            // follows a request's arrival.
            var takeovers = 0
            for _ in 0..<2 {
                let active = try await activeDispatcher(daemons)
                let since = Date().timeIntervalSince1970
                try receiver.setMode("slow 0.5")
                try await waitFor("a request in flight") { receiver.requests.contains { $0.at > since && $0.mode == "slow" } }
                daemons[active].kill()
                try receiver.setMode("ok")
                mark = received()
                try await waitFor("the standby to deliver") { received() >= mark + 10 }
                if await daemons[1 - active].metric("incident_dispatcher_active") == 1 { takeovers += 1 }
                daemons[active] = try Daemon(conninfo: db.conninfo, port: ports[active], arguments: arguments)
                try await daemons[active].ready()
            }
            world.stopped.store(true, ordering: .relaxed)
            try await seeding.value

            let expected = world.expected { _ in true }
            try await waitFor("every event delivered", seconds: 120) { received() >= expected.count }
            try await Task.sleep(for: .seconds(2))
            Self.checkFaultRun(receiver, expected: expected, takeovers: takeovers)
        }
    }

    @Test("an event refused 12 times goes to the dead letters, the next ones are delivered, and a retry of the dead letter delivers it")
    func deadLetters() async throws {
        try await TestDatabase.with { db in
            let (reporter, reviewer, admin) = try await Self.staff(db)
            let receiver = try WebhookReceiver()
            defer { receiver.close() }
            let port = TestPorts.free()
            let daemon = try Daemon(
                conninfo: db.conninfo, port: port, arguments: ["--allow-webhook-host", "127.0.0.1", "--webhook-retry-min", "10ms", "--webhook-retry-max", "50ms"])
            defer { daemon.stop() }
            try await daemon.ready()
            let world = SeededWorld(ports: [port], reporter: reporter, reviewer: reviewer)
            try await world.seed(3)
            let events = world.expected { _ in true }
            let refused = events[1]
            try receiver.setMode("refuse \(refused)")
            try receiver.setSecrets(["/desk": try await Self.subscribe("desk", url: receiver.url + "/desk", port: port, admin: admin)])

            try await waitFor("the events after the refused one") { receiver.received(at: "/desk").ids == events.filter { $0 != refused } }
            let tries = receiver.requests.filter { $0.id == refused }
            let letters = await get(port, "/v1/admin/subscriptions/desk/dead-letters", token: admin).json?.objectValue?["dead_letters"]?.arrayValue ?? []
            print("dead letter figures: \(events.count) events, \(tries.count) tries of the refused one, \(letters.count) dead letters")
            #expect(tries.count == 12 && tries.allSatisfy { $0.status == 500 })
            #expect(letters.count == 1)
            #expect(letters.first?.objectValue?["event_id"]?.stringValue == refused)
            #expect(letters.first?.objectValue?["attempts"]?.numberValue == 12)

            try receiver.setMode("ok")
            let retry = await post(port, "/v1/admin/subscriptions/desk/dead-letters/\(refused):retry", token: admin, body: Data())
            #expect(retry.status == 202)
            try await waitFor("the dead letter delivered") { receiver.received(at: "/desk").ids.contains(refused) }
            #expect(receiver.received(at: "/desk").ids == events.filter { $0 != refused } + [refused])
            var remaining = -1
            for _ in 0..<100 {
                remaining = await get(port, "/v1/admin/subscriptions/desk/dead-letters", token: admin).json?.objectValue?["dead_letters"]?.arrayValue?.count ?? -1
                if remaining == 0 { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(remaining == 0)
            let audit = await get(port, "/v1/admin/audit?action=subscription.retry", token: admin).json?.objectValue?["items"]?.arrayValue ?? []
            #expect(audit.count == 1)
        }
    }

    /// The receiver answers 500 for 2 s, then hangs for 3 s (past a 1 s timeout), then is
    /// stopped for 2 s, then comes back.
    static func receiverFails(_ receiver: WebhookReceiver) async throws {
        try receiver.setMode("fail")
        try await Task.sleep(for: .seconds(2))
        try receiver.setMode("hang 3")
        try await Task.sleep(for: .seconds(3))
        receiver.stop()
        try await Task.sleep(for: .seconds(2))
        try receiver.setMode("ok")
        try receiver.start()
    }

    /// After the faults: every event once, in order; the figures printed.
    static func checkFaultRun(_ receiver: WebhookReceiver, expected: [String], takeovers: Int) {
        let requests = receiver.requests.filter { $0.path == "/all" }
        let (ids, repeats) = receiver.received(at: "/all")
        let repeated = Set(requests.filter(\.accepted).map(\.id)).filter { id in requests.filter { $0.accepted && $0.id == id }.count > 1 }
        print(
            "subscription fault figures: \(expected.count) events, \(requests.count) deliveries received, "
                + "\(requests.filter { $0.status == 500 }.count) answered 500, \(requests.filter { $0.mode == "hang" }.count) hung past the 1 s timeout, "
                + "\(requests.count - ids.count) retries and re-deliveries, \(repeats) repeats of \(repeated.count) events (the same webhook-id each), "
                + "2 kills, \(takeovers) takeovers by the standby, skipped \(Set(expected).subtracting(ids).count)")
        #expect(ids == expected, "every event once, in log order")
        #expect(requests.allSatisfy { $0.id == $0.eventID }, "a re-delivery keeps its webhook-id")
        #expect(requests.allSatisfy { $0.verified })
        #expect(requests.contains { $0.status == 500 } && requests.contains { $0.mode == "hang" })
        #expect(takeovers == 2)
    }

    /// A reporter's, a reviewer's and an admin's tokens.
    static func staff(_ db: TestDatabase) async throws -> (reporter: String, reviewer: String, admin: String) {
        let tokens = AccessTokens(pool: db.pool)
        return (
            try await tokens.create(name: "field", role: .reporter), try await tokens.create(name: "desk", role: .reviewer),
            try await tokens.create(name: "ops", role: .admin)
        )
    }

    /// A webhook subscription from the beginning of the log; returns its secret.
    static func subscribe(_ name: String, filter: JSONValue = [:], url: String, port: Int, admin: String) async throws -> String {
        let created = await post(
            port, "/v1/admin/subscriptions", token: admin,
            body: Data(
                JSONValue.object(["name": .string(name), "filter": filter, "target": ["kind": "webhook", "url": .string(url)], "start": "beginning"]).encoded()))
        #expect(created.status == 201, "\(String(describing: created.json))")
        let secret = try #require(created.json?.objectValue?["secret"]?.stringValue)
        #expect(secret.hasPrefix("whsec_"))
        return secret
    }

    /// What every request carried: its event under its own id, the incident after the event,
    /// never personal data, never a confidential incident.
    static func checkBodies(_ requests: [WebhookReceiver.Request], _ world: SeededWorld) {
        #expect(requests.allSatisfy { $0.id == $0.eventID }, "webhook-id is the event id")
        let bodies = requests.compactMap { $0.body?.objectValue }
        // The incident as the API shows it: {incident: the record, status, version, ...}.
        let records = bodies.compactMap { $0["event"]?.objectValue?["incident"]?.objectValue?["incident"]?.objectValue }
        #expect(records.count == bodies.count && records.allSatisfy { $0["personal"] == nil && $0["category"] != nil }, "never personal data")
        #expect(!requests.contains { String(decoding: ($0.body ?? .null).encoded(), as: UTF8.self).contains(SeededWorld.victimName) })
        #expect(
            !requests.contains { request in world.events.contains { $0.incident.confidential && $0.id == request.id } },
            "no confidential incident without include_confidential")
        // Each event carries the incident as it stood after it.
        for request in requests.filter(\.accepted) {
            guard let event = world.events.first(where: { $0.id == request.id }) else {
                Issue.record("a request for an event not in the world: \(request.id)")
                continue
            }
            let incident = request.body?.objectValue?["event"]?.objectValue?["incident"]?.objectValue
            #expect(incident?["status"]?.stringValue == event.incident.status)
            #expect(request.body?.objectValue?["event"]?.objectValue?["type"]?.stringValue == event.type)
        }
    }

    /// The daemon whose dispatcher is active, waiting up to 10 s for one.
    private func activeDispatcher(_ daemons: [Daemon]) async throws -> Int {
        for _ in 0..<200 {
            for (index, daemon) in daemons.enumerated() where await daemon.metric("incident_dispatcher_active") == 1 { return index }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("no daemon's dispatcher became active")
        throw CancellationError()
    }
}

/// Waits until `condition` holds, at most `seconds`; records an issue and throws when it does not.
func waitFor(_ what: String, seconds: Int = 60, _ condition: () async throws -> Bool) async throws {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while try await !condition() {
        guard ContinuousClock.now < deadline else {
            Issue.record("timed out waiting for: \(what)")
            throw CancellationError()
        }
        try await Task.sleep(for: .milliseconds(20))
    }
}
