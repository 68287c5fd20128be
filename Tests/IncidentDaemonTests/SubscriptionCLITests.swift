import Foundation
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

/// `ictl admin subscription` as an admin types it, against `incidentd serve` and a receiver
/// process that checks every signature with the secret ictl printed.
@Suite("ictl admin subscription against a live incidentd (subprocesses)")
struct SubscriptionCLITests {
    @Test(
        "create prints the secret alone on stdout and the receiver verifies with it; list, show, pause, resume, dead-letters, delete; a refusal names the flag (65), an unknown name exits 66"
    )
    func adminManagesSubscriptions() async throws {
        try await TestDatabase.with { db in
            let (reporter, reviewer, admin) = try await SubscriptionDeliveryTests.staff(db)
            let receiver = try WebhookReceiver()
            defer { receiver.close() }
            let port = TestPorts.free()
            let daemon = try Daemon(conninfo: db.conninfo, port: port, arguments: SubscriptionDeliveryTests.fastRetries)
            defer { daemon.stop() }
            try await daemon.ready()
            let laptop = try Laptop(port: port, token: admin)
            let world = SeededWorld(ports: [port], reporter: reporter, reviewer: reviewer)
            try await world.seed(6)

            try await Self.refusesCreates(laptop, receiver: receiver)

            let created = try await laptop.ictl(
                "admin", "subscription", "create", "violence", "--webhook", receiver.url + "/violence", "--category", "ethnic_violence", "--start",
                "beginning")
            #expect(created.status == 0, "\(created.stderr)")
            let secret = created.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(secret.hasPrefix("whsec_") && !secret.contains(" "), "only the secret on stdout: \(created.stdout)")
            #expect(created.stderr.contains("can never be shown again"), "\(created.stderr)")
            try receiver.setSecrets(["/violence": secret])

            let expected = world.expected { $0.incident.category == "ethnic_violence" }
            #expect(!expected.isEmpty)
            try await waitFor("the receiver to verify \(expected.count) events") {
                receiver.requests.filter { $0.path == "/violence" && $0.accepted }.count >= expected.count
            }
            #expect(receiver.received(at: "/violence").ids == expected)

            let listed = try await laptop.ictl("admin", "subscription", "list", "--format", "json")
            #expect(listed.status == 0, "\(listed.stderr)")
            let subscriptions = (try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [String: Any])?["subscriptions"] as? [[String: Any]]
            #expect(subscriptions?.map { $0["name"] as? String } == ["violence"])
            #expect(subscriptions?.first?["delivered"] as? Int == expected.count)

            let csv = try await laptop.ictl("admin", "subscription", "list", "--format", "csv")
            #expect(csv.stdout.hasPrefix("NAME,STATE,TARGET,LAG,DELIVERED"), "\(csv.stdout)")
            #expect(csv.stdout.contains("violence,active,\(receiver.url)/violence,0,\(expected.count),0,"), "\(csv.stdout)")

            let paused = try await laptop.ictl("admin", "subscription", "pause", "violence")
            #expect(paused.status == 0, "\(paused.stderr)")
            let shown = try await laptop.ictl("admin", "subscription", "show", "violence", "--format", "json")
            #expect((try JSONSerialization.jsonObject(with: Data(shown.stdout.utf8)) as? [String: Any])?["state"] as? String == "paused")
            #expect(try await laptop.ictl("admin", "subscription", "resume", "violence").status == 0)

            let letters = try await laptop.ictl("admin", "subscription", "dead-letters", "violence", "--format", "csv")
            #expect(letters.status == 0 && letters.stdout.hasPrefix("EVENT,"), "\(letters.stdout)\(letters.stderr)")
            #expect(try await laptop.ictl("admin", "subscription", "show", "no-such").status == 66)
            #expect(try await laptop.ictl("admin", "subscription", "show", "Not A Name").status == 64)

            #expect(try await laptop.ictl("admin", "subscription", "delete", "violence").status == 0)
            #expect(try await laptop.ictl("admin", "subscription", "delete", "violence").status == 66)
        }
    }

    /// A create the daemon refuses names the flag at fault and exits 65.
    static func refusesCreates(_ laptop: Laptop, receiver: WebhookReceiver) async throws {
        let refused = try await laptop.ictl(
            "admin", "subscription", "create", "violence", "--webhook", receiver.url + "/violence", "--category", "no_such_category")
        #expect(refused.status == 65)
        #expect(refused.stderr.contains("--category: unknown category 'no_such_category'"), "\(refused.stderr)")
        // A private address, refused before any connection.
        let privateTarget = try await laptop.ictl("admin", "subscription", "create", "private", "--webhook", "http://10.0.0.1/hook")
        #expect(privateTarget.status == 65)
        #expect(privateTarget.stderr.contains("--webhook: webhook URL refused"), "\(privateTarget.stderr)")
    }
}
