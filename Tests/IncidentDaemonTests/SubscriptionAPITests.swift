import Foundation
import HTTPTypes
import HummingbirdTesting
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

@testable import IncidentDaemon

/// The subscriptions API: pull consumers, the rules on webhook targets, the admin operations
/// and their audit.
@Suite("Subscriptions: pull consumers, webhook targets, admin operations")
struct SubscriptionAPITests {
    @Test("a pull consumer that dies between reading and acking reads the same events again; after an ack never again")
    func pullConsumerAcks() async throws {
        try await API.run { api in
            let feed = try await AccessTokens(pool: api.db.pool).create(name: "ops-room-feed", role: .analyst)
            let created = try await api.call(
                .post, "/v1/admin/subscriptions", token: api.admin,
                json: ["name": "ops-room", "filter": ["municipalities": ["Zubin Potok"]], "target": ["kind": "pull"], "consumers": ["ops-room-feed"]])
            #expect(created.status == 201)
            #expect(created["secret"] == nil, "a pull subscription has no secret")
            var written: [String] = []
            for place in ["Zubin Potok", "Prizren", "Zubin Potok", "Zubin Potok"] {
                written.append(
                    try #require(try await api.call(.post, "/v1/incidents", token: api.reporter, json: report(["municipality": .string(place)]))["event_id"]?.stringValue)
                )
            }
            let matching = [written[0], written[2], written[3]]
            func read(_ count: Int = 0, limit: Int = 100) async throws -> (ids: [String], checkpoint: String) {
                try await pull(api, "ops-room", token: feed, count: count, limit: limit)
            }
            // The first consumer reads two and dies before acking: the next one gets them again.
            let first = try await read(2, limit: 2)
            #expect(first.ids == Array(matching.prefix(2)))
            let again = try await read(2, limit: 2)
            #expect(again.ids == first.ids)
            let acked = try await api.call(.post, "/v1/subscriptions/ops-room/ack", token: feed, json: ["checkpoint": .string(again.checkpoint)])
            #expect(acked.status == 200)
            let rest = try await read(1)
            #expect(rest.ids == [matching[2]], "after the ack, only what came after")
            _ = try await api.call(.post, "/v1/subscriptions/ops-room/ack", token: feed, json: ["checkpoint": .string(rest.checkpoint)])
            #expect(try await read().ids.isEmpty)
            // An ack of an older checkpoint does not move it back.
            let stale = try await api.call(.post, "/v1/subscriptions/ops-room/ack", token: feed, json: ["checkpoint": .string(first.checkpoint)])
            #expect(stale["checkpoint"]?.stringValue == rest.checkpoint)
            #expect(try await read().ids.isEmpty)

            // A long poll (on a connection of its own) answers when a matching event arrives.
            let port = try #require(api.client.port)
            async let waited = get(port, "/v1/subscriptions/ops-room/events?wait=10", token: feed)
            try await Task.sleep(for: .milliseconds(500))
            let late = try #require(try await api.call(.post, "/v1/incidents", token: api.reporter, json: report())["event_id"]?.stringValue)
            let polled = await waited
            #expect(polled.status == 200)
            #expect(polled.json?.objectValue?["events"]?.arrayValue?.compactMap { $0.objectValue?["event_id"]?.stringValue } == [late])

            // Only its consumers read it; webhook subscriptions are not pulled; bad parameters are named.
            #expect(try await api.call(.get, "/v1/subscriptions/ops-room/events", token: api.analyst).status == 403)
            #expect(try await api.call(.get, "/v1/subscriptions/nothing-here/events", token: feed).status == 404)
            #expect(try await api.call(.get, "/v1/subscriptions/ops-room/events?wait=31", token: feed).status == 400)
            #expect(try await api.call(.get, "/v1/subscriptions/ops-room/events?limit=0", token: feed).status == 400)
            #expect(try await api.call(.post, "/v1/subscriptions/ops-room/ack", token: feed, json: ["checkpoint": "not-one"]).status == 422)
            let shown = try await api.call(.get, "/v1/admin/subscriptions/ops-room", token: api.admin)
            #expect(shown["target"]?.objectValue?["kind"]?.stringValue == "pull")
            #expect(shown["consumers"] == ["ops-room-feed"])
        }
    }

    @Test("start now begins after the log's last event, in the order of transactions: transaction 10 comes after 9")
    func startNowIsTheLogsEnd() async throws {
        try await API.run { api in
            // Events of two long-ended transactions, 9 and 10, in a stream no subscription delivers:
            // as text, "9" would sort after "10".
            let last: Int64 = try await api.db.pool.withConnection { connection in
                try connection.query(
                    """
                    INSERT INTO events (transaction_id, event_id, stream, stream_version, type, schema_version, data)
                    SELECT t::text::xid8, gen_random_uuid(), 'order-probe', v, 'OrderProbe', 1, '{}'
                    FROM (VALUES (9, 1), (10, 2)) AS p(t, v) RETURNING global_position
                    """
                ).rows.map { try $0.decode(0, as: Int64.self) }.max()!
            }
            let created = try await api.call(.post, "/v1/admin/subscriptions", token: api.admin, json: ["name": "from-now", "target": ["kind": "pull"]])
            #expect(created.status == 201)
            #expect(created["checkpoint"]?.stringValue == Checkpoint(transactionID: 10, position: last).token)
            #expect(created["lag_events"] == 0, "nothing before its creation is delivered")
        }
    }

    @Test("webhook URLs over http or to loopback, private or link-local addresses, by address or by name, are refused with 422")
    func webhookTargetsRefused() async throws {
        try await API.run { api in
            let refused = [
                "http://hooks.example.invalid/incidents", "https://127.0.0.1/hook", "https://10.0.0.1/hook", "https://169.254.169.254/latest/meta-data",
                "https://localhost/hook", "https://[::1]/hook", "https://[fd00::1]/hook", "https://[::ffff:127.0.0.1]/hook", "https://192.168.1.20/hook",
                "https://hooks.example.invalid/incidents", "ftp://127.0.0.1/hook", "https://user:pass@hooks.example.invalid/",
            ]
            for (index, url) in refused.enumerated() {
                let answer = try await api.call(
                    .post, "/v1/admin/subscriptions", token: api.admin, json: ["name": .string("refused-\(index)"), "target": ["kind": "webhook", "url": .string(url)]])
                #expect(answer.status == 422 && answer.errorCode == "webhook_target_refused", "\(url): \(answer.status) \(answer.json?.encodedString ?? "")")
                let named = answer["error"]?.objectValue?["details"]?.objectValue?["fields"]?.arrayValue?.compactMap { $0.objectValue?["field"]?.stringValue }
                #expect(named == ["target.url"], "\(url)")
            }
            #expect(try await api.call(.get, "/v1/admin/subscriptions", token: api.admin)["subscriptions"] == [])
        }
    }

    @Test("--allow-webhook-host lifts the rules for that host only; a redirect is not followed")
    func allowedHostAndRedirects() async throws {
        let policy = WebhookPolicy(allowedHosts: ["127.0.0.1"])
        let settings = WebhookSettings(policy: policy, timeout: .seconds(2), retryMin: .milliseconds(50), retryMax: .milliseconds(200))
        try await API.run(webhooks: settings) { api in
            let target = try WebhookReceiver()
            defer { target.close() }
            let redirector = try WebhookReceiver()
            defer { redirector.close() }
            try redirector.setMode("redirect \(target.url)/moved")
            #expect(
                try await api.call(
                    .post, "/v1/admin/subscriptions", token: api.admin, json: ["name": "elsewhere", "target": ["kind": "webhook", "url": "http://10.0.0.1/hook"]]
                ).errorCode == "webhook_target_refused")
            let created = try await api.call(
                .post, "/v1/admin/subscriptions", token: api.admin,
                json: ["name": "moved", "target": ["kind": "webhook", "url": .string(redirector.url + "/hook")], "start": "beginning"])
            #expect(created.status == 201)
            let secret = try #require(created["secret"]?.stringValue)
            try redirector.setSecrets(["/hook": secret])
            try target.setSecrets(["/moved": secret])
            _ = try await api.call(.post, "/v1/incidents", token: api.reporter, json: report())
            try await waitFor("tries at the redirecting receiver") { redirector.requests.count >= 3 }
            let shown = try await api.call(.get, "/v1/admin/subscriptions/moved", token: api.admin)
            print("redirect figures: \(redirector.requests.count) tries answered 302, \(target.requests.count) requests at the redirect's target")
            #expect(target.requests.isEmpty, "the redirect was not followed")
            #expect(redirector.requests.allSatisfy { $0.status == 302 })
            #expect(shown["delivered"] == 0)
            #expect(shown["failures"]?.objectValue?["last_error"]?.stringValue?.contains("302") == true)
            #expect(shown["last_delivery"]?.objectValue?["status"] == 302)
        }
    }

    @Test("create validates every field, names are unique, pause, resume and delete work and every change is audited")
    func adminOperations() async throws {
        try await API.run { api in
            let bad = try await api.call(
                .post, "/v1/admin/subscriptions", token: api.admin,
                json: [
                    "name": "Has Spaces", "filter": ["categories": ["no_such"], "districts": ["Atlantis"], "min_killed": -1],
                    "target": ["kind": "pull"], "start": "yesterday",
                ])
            #expect(bad.status == 422)
            let fields = Set(
                bad.json?.objectValue?["error"]?.objectValue?["details"]?.objectValue?["fields"]?.arrayValue?.compactMap { $0.objectValue?["field"]?.stringValue } ?? [])
            #expect(fields.isSuperset(of: ["name", "filter.categories", "filter.districts", "filter.min_killed", "start"]), "\(fields)")
            let unknown = try await api.call(
                .post, "/v1/admin/subscriptions", token: api.admin, json: ["name": "x", "filter": ["colour": "red"], "target": ["kind": "pull"]])
            #expect(unknown.status == 400, "an unknown field is a 400, as everywhere in the API")
            #expect(try await api.call(.post, "/v1/admin/subscriptions", token: api.admin, json: ["name": "x", "target": ["kind": "carrier-pigeon"]]).status == 422)
            for name in ["feed\n", "feed\r", "feed\r\n", ""] {
                let refused = try await api.call(
                    .post, "/v1/admin/subscriptions", token: api.admin, json: ["name": .string(name), "target": ["kind": "pull"], "consumers": ["desk"]])
                let named = refused.json?.objectValue?["error"]?.objectValue?["details"]?.objectValue?["fields"]?.arrayValue?.compactMap {
                    $0.objectValue?["field"]?.stringValue
                }
                #expect(refused.status == 422 && named == ["name"], "a name ending in a line break is refused, not a 500: \(name.debugDescription)")
            }

            let body: JSONValue = ["name": "north", "filter": ["districts": ["Mitrovicë"], "municipalities": ["Zveçan"]], "target": ["kind": "pull"]]
            let created = try await api.call(.post, "/v1/admin/subscriptions", token: api.admin, json: body)
            #expect(created.status == 201)
            #expect(
                created["filter"]?.objectValue?["districts"] == ["XK-MIT"] && created["filter"]?.objectValue?["municipalities"] == ["XK-MIT-06"], "names stored as codes")
            #expect(created["state"] == "active" && created["created_by"] == "admin")
            #expect(try await api.call(.post, "/v1/admin/subscriptions", token: api.admin, json: body).errorCode == "subscription_exists")
            #expect(try await api.call(.post, "/v1/admin/subscriptions/north:pause", token: api.admin)["state"] == "paused")
            #expect(try await api.call(.get, "/v1/admin/subscriptions/north", token: api.admin)["state"] == "paused")
            #expect(try await api.call(.post, "/v1/admin/subscriptions/north:resume", token: api.admin)["state"] == "active")
            #expect(try await api.call(.post, "/v1/admin/subscriptions/nowhere:pause", token: api.admin).status == 404)
            #expect(try await api.call(.delete, "/v1/admin/subscriptions/north", token: api.admin)["deleted"] == true)
            #expect(try await api.call(.get, "/v1/admin/subscriptions/north", token: api.admin).status == 404)

            let audit = try await api.call(.get, "/v1/admin/audit?limit=1000", token: api.admin)["items"]?.arrayValue ?? []
            let actions = audit.compactMap { $0.objectValue }.filter { $0["target"]?.stringValue == "north" }.compactMap { $0["action"]?.stringValue }
            #expect(actions == ["subscription.create", "subscription.pause", "subscription.resume", "subscription.delete"])
        }
    }

    @Test("include_confidential delivers confidential incidents to an admin's subscription only, never with personal data")
    func confidentialOnlyWhenIncluded() async throws {
        try await API.run { api in
            for (name, include) in [("plain", false), ("confidential", true)] {
                _ = try await api.call(
                    .post, "/v1/admin/subscriptions", token: api.admin,
                    json: ["name": .string(name), "target": ["kind": "pull"], "consumers": ["admin"], "include_confidential": .bool(include)])
            }
            let secret = try #require(
                try await api.call(
                    .post, "/v1/incidents", token: api.reporter,
                    json: report([
                        "category": "trafficking", "subcategory": "human_trafficking", "personal": ["victims": [["name": "Vlora Confidentialname"]]],
                    ]))["event_id"]?.stringValue)
            let open = try #require(try await api.call(.post, "/v1/incidents", token: api.reporter, json: report())["event_id"]?.stringValue)
            #expect(try await pull(api, "plain", token: api.admin, count: 1).ids == [open])
            #expect(try await pull(api, "confidential", token: api.admin, count: 2).ids == [secret, open])
            let page = try await api.call(.get, "/v1/subscriptions/confidential/events", token: api.admin)
            let text = page.json.map { String(decoding: $0.encoded(), as: UTF8.self) } ?? ""
            #expect(text.contains("human_trafficking") && !text.contains("Confidentialname"), "the incident, never its personal data")
        }
    }
    /// Reads a pull subscription until `count` events come back (a read stops short of
    /// transactions still running anywhere in the cluster, commit-safe, and other tests share it).
    private func pull(_ api: API, _ name: String, token: String, count: Int, limit: Int = 100) async throws -> (ids: [String], checkpoint: String) {
        for _ in 0..<250 {
            let page = try await api.call(.get, "/v1/subscriptions/\(name)/events?limit=\(limit)", token: token)
            #expect(page.status == 200)
            let ids = page["events"]?.arrayValue?.compactMap { $0.objectValue?["event_id"]?.stringValue } ?? []
            if ids.count >= count { return (ids, try #require(page["checkpoint"]?.stringValue)) }
            try await Task.sleep(for: .milliseconds(20))
        }
        Issue.record("fewer than \(count) events came back from \(name)")
        throw CancellationError()
    }
}
