import Foundation
import HTTPTypes
import IncidentAPI
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

@testable import IncidentDaemon

extension API {
    /// The current outbox key, as `GET /v1/outbox-key` gives it.
    func outboxKey() async throws -> OutboxPublicKey {
        let reply = try await call(.get, "/v1/outbox-key", token: reporter)
        let id = try #require(reply["key_id"]?.stringValue)
        let publicKey = try #require(reply["public_key"]?.stringValue.flatMap { Data(base64Encoded: $0) })
        return OutboxPublicKey(id: id, publicKey: publicKey)
    }

    /// `POST /v1/outbox:deliver` with `envelope` as the body.
    func deliver(_ envelope: Data, token: String, sourceLocation: SourceLocation = #_sourceLocation) async throws -> Reply {
        try await call(.post, "/v1/outbox:deliver", token: token, raw: envelope, headers: [.contentType: "application/json"], sourceLocation: sourceLocation)
    }
}

/// A write sealed as ictl seals it.
func sealed(_ path: String, _ body: JSONValue, idempotencyKey: String? = nil, method: String = "POST", to key: OutboxPublicKey) throws -> Data {
    try OutboxEnvelope.seal(.init(method: method, path: path, idempotencyKey: idempotencyKey, body: body.encoded()), to: key)
}

@Suite("Sealed offline outbox over HTTP (docs/api.md, The offline outbox)")
struct OutboxAPITests {
    @Test("every role gets the outbox key; every successful answer behind the token names it in Outbox-Key-Id")
    func outboxKey() async throws {
        try await API.run { api in
            var ids: Set<String> = []
            for token in api.allTokens {
                let reply = try await api.call(.get, "/v1/outbox-key", token: token)
                #expect(reply.status == 200)
                #expect(reply["suite"]?.stringValue == "DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM")
                #expect(reply["public_key"]?.stringValue.flatMap { Data(base64Encoded: $0) }?.count == 32)
                let id = try #require(reply["key_id"]?.stringValue)
                #expect(reply.headers[.outboxKeyID] == id)
                ids.insert(id)
            }
            #expect(ids.count == 1, "one current key")
            let key = try await api.outboxKey()
            #expect(key.id == OutboxKeys.keyID(of: key.publicKey), "the id is the public key's fingerprint")
            #expect(try await api.call(.get, "/v1/taxonomy", token: api.analyst).headers[.outboxKeyID] == key.id)
            let refused = try await api.call(.get, "/v1/outbox-key", token: nil)
            #expect(refused.status == 401 && refused.headers[.outboxKeyID] == nil)
        }
    }

    @Test("a delivered envelope runs its write as the caller with the inner idempotency key: 201, then 200 on every resend")
    func delivered() async throws {
        try await API.run { api in
            let key = try await api.outboxKey()
            let incident = UUID().uuidString.lowercased()
            let body = report(["incident_id": .string(incident), "personal": ["victims": [["name": "Arbër Uniquename-Outbox"]]]])
            let envelope = try sealed("/v1/incidents", body, to: key)
            let first = try await api.deliver(envelope, token: api.reporter)
            #expect(first.status == 201, "\(first.json?.encodedString ?? "")")
            #expect(first["incident_id"]?.stringValue == incident)
            let again = try await api.deliver(envelope, token: api.reporter)
            #expect(again.status == 200 && again["event_id"] == first["event_id"], "a resend is a replay")
            let direct = try await api.call(.post, "/v1/incidents", token: api.reporter, json: body)
            #expect(direct.status == 200 && direct["event_id"] == first["event_id"], "the same report sent directly is a replay too")

            // The write ran as the caller: the incident is the reporter's own.
            #expect(try await api.call(.get, "/v1/incidents/\(incident)", token: api.reporter).status == 200)
            #expect(try await api.call(.get, "/v1/incidents/\(incident)", token: api.otherReporter).status == 404)

            // Amendment, decision, retraction, each with its own idempotency key.
            let writes: [(String, JSONValue, String)] = [
                (
                    "/v1/incidents/\(incident)/amendments",
                    [
                        "expected_version": 1, "changes": ["injured": 2, "personal": ["witnesses": [["name": "Besnik Uniquename-Outbox"]]]],
                        "reason": "hospital report",
                    ], api.reporter
                ),
                ("/v1/incidents/\(incident)/verification", ["expected_version": 2, "decision": "verified", "note": "confirmed"], api.reviewer),
                ("/v1/incidents/\(incident)/retraction", ["expected_version": 3, "reason": "erroneous"], api.reporter),
            ]
            for (path, body, token) in writes {
                let envelope = try sealed(path, body, idempotencyKey: UUID().uuidString, to: key)
                let stored = try await api.deliver(envelope, token: token)
                #expect(stored.status == 201, "\(path): \(stored.json?.encodedString ?? "")")
                let resent = try await api.deliver(envelope, token: token)
                #expect(resent.status == 200 && resent["event_id"] == stored["event_id"], "\(path) resent")
            }
            let events: Int = try await api.db.pool.withConnection {
                try $0.query("SELECT count(*) FROM events WHERE stream = $1", ["incident-" + incident]).first!.decode(0)
            }
            #expect(events == 4, "each write stored once")
            #expect(!api.logs.text.contains("Uniquename-Outbox"), "nothing of the sealed request was logged")

            // The two deliveries of the report and the two of the amendment carried personal data:
            // each is audited (the direct send and the writes without personal data are not), and
            // no record holds a name.
            let audited: [[String?]] = try await api.db.pool.withConnection {
                try $0.query("SELECT principal, incident_id::text, action FROM access_audit WHERE action = 'outbox.deliver' ORDER BY id").rows.map {
                    [try $0.decodeIfPresent(0), try $0.decodeIfPresent(1), try $0.decodeIfPresent(2)]
                }
            }
            #expect(audited == Array(repeating: ["reporter-a", incident, "outbox.deliver"], count: 4), "\(audited)")
            let auditText: String = try await api.db.pool.withConnection {
                try $0.query("SELECT coalesce(string_agg(a::text, ' '), '') FROM access_audit a").first!.decode(0)
            }
            #expect(!auditText.contains("Uniquename-Outbox"))
        }
    }

    @Test("a delivered write is answered exactly as its own route answers it: validation, unknown fields, roles, versions, missing incidents, bad keys")
    func sameAnswers() async throws {
        try await API.run { api in
            let key = try await api.outboxKey()
            let own = try #require(try await api.call(.post, "/v1/incidents", token: api.reporter, json: report())["incident_id"]?.stringValue)
            let missing = UUID().uuidString.lowercased()
            let before = try await eventCount(api.db)
            let cases: [(String, String, Data, String?, String)] = [
                ("invalid report (422)", "/v1/incidents", report(["municipality": "Atlantis", "killed": -1]).encoded(), nil, api.reporter),
                ("unknown field (400)", "/v1/incidents", report(["colour": "red"]).encoded(), nil, api.reporter),
                ("analyst reports (403)", "/v1/incidents", report().encoded(), nil, api.analyst),
                ("malformed JSON (400)", "/v1/incidents", Data("{\"category\": ".utf8), nil, api.reporter),
                ("bad idempotency key (400)", "/v1/incidents", report().encoded(), "not-a-uuid", api.reporter),
                (
                    "stale version (409)", "/v1/incidents/\(own)/amendments", (["expected_version": 7, "changes": ["injured": 1], "reason": "r"] as JSONValue).encoded(),
                    nil, api.reporter
                ),
                (
                    "reporter decides (403)", "/v1/incidents/\(own)/verification", (["expected_version": 1, "decision": "verified", "note": "n"] as JSONValue).encoded(),
                    nil, api.reporter
                ),
                (
                    "bad decision (422)", "/v1/incidents/\(own)/verification", (["expected_version": 1, "decision": "maybe", "note": "n"] as JSONValue).encoded(), nil,
                    api.reviewer
                ),
                (
                    "missing incident (404)", "/v1/incidents/\(missing)/retraction", (["expected_version": 1, "reason": "erroneous"] as JSONValue).encoded(), nil,
                    api.reporter
                ),
                (
                    "not an incident id (404)", "/v1/incidents/nothing/amendments",
                    (["expected_version": 1, "changes": ["injured": 1], "reason": "r"] as JSONValue).encoded(), nil, api.reporter
                ),
                (
                    "another's incident (404)", "/v1/incidents/\(own)/retraction", (["expected_version": 1, "reason": "erroneous"] as JSONValue).encoded(), nil,
                    api.otherReporter
                ),
            ]
            for (what, path, body, idempotencyKey, token) in cases {
                var headers: HTTPFields = [.contentType: "application/json"]
                if let idempotencyKey { headers[.idempotencyKey] = idempotencyKey }
                let direct = try await api.call(.post, path, token: token, raw: body, headers: headers)
                let envelope = try OutboxEnvelope.seal(.init(method: "POST", path: path, idempotencyKey: idempotencyKey, body: body), to: key)
                let delivered = try await api.deliver(envelope, token: token)
                #expect(direct.status >= 400 && direct.status < 500, "\(what): \(direct.status)")
                #expect(delivered.status == direct.status, "\(what): delivered \(delivered.status), direct \(direct.status)")
                #expect(delivered.json == direct.json, "\(what): \(delivered.json?.encodedString ?? "") vs \(direct.json?.encodedString ?? "")")
            }
            #expect(try await eventCount(api.db) == before, "nothing refused was written")

            // The inner body has the direct route's limit.
            let large = report(["summary": .string(String(repeating: "a", count: 1_100_000))]).encoded()
            #expect(try await api.call(.post, "/v1/incidents", token: api.reporter, raw: large).status == 413)
            let envelope = try OutboxEnvelope.seal(.init(method: "POST", path: "/v1/incidents", body: large), to: key)
            let reply = try await api.deliver(envelope, token: api.reporter)
            #expect(reply.status == 413 && reply.errorCode == "payload_too_large")
        }
    }

    @Test("an altered envelope is a 400, never a 500; an unknown key id a 422; another request than the four writes a 422; nothing is written")
    func refused() async throws {
        try await API.run { api in
            let key = try await api.outboxKey()
            let own = try #require(try await api.call(.post, "/v1/incidents", token: api.reporter, json: report())["incident_id"]?.stringValue)
            let before = try await eventCount(api.db)
            let envelope = try sealed("/v1/incidents", report(), to: key)
            let fields = try #require(try JSONValue.parse(envelope).objectValue)
            func with(_ changes: [String: JSONValue?]) -> Data {
                var object = fields
                for (name, value) in changes { object[name] = value }
                return JSONValue.object(object).encoded()
            }
            let ciphertext = try #require(fields["ciphertext"]?.stringValue.flatMap { Data(base64Encoded: $0) })
            var flipped = ciphertext
            flipped[flipped.count / 2] ^= 0x01
            let zeros = Data(repeating: 0, count: 32).base64EncodedString()
            let otherEnvelope = try sealed("/v1/incidents", report(), to: key)
            let otherEncapsulated = try #require(try JSONValue.parse(otherEnvelope).objectValue?["encapsulated_key"])

            let cases: [(String, Data, Int, String)] = [
                ("a byte of the ciphertext flipped", with(["ciphertext": .string(flipped.base64EncodedString())]), 400, "envelope_unopenable"),
                ("the ciphertext cut short", with(["ciphertext": .string(ciphertext.prefix(ciphertext.count - 1).base64EncodedString())]), 400, "envelope_unopenable"),
                ("another envelope's encapsulated key", with(["encapsulated_key": otherEncapsulated]), 400, "envelope_unopenable"),
                ("an encapsulated key of zeros", with(["encapsulated_key": .string(zeros)]), 400, "envelope_unopenable"),
                ("an unknown key id", with(["key_id": "0123456789abcdef"]), 422, "unknown_outbox_key"),
                ("a key id that is not one", with(["key_id": "'; DROP TABLE outbox_keys; --"]), 400, "bad_envelope"),
                ("another version", with(["version": 2]), 400, "bad_envelope"),
                ("another suite", with(["suite": "X25519-ChaChaPoly"]), 400, "bad_envelope"),
                ("an unknown field", with(["note": "hello"]), 400, "bad_envelope"),
                ("no ciphertext", with(["ciphertext": nil]), 400, "bad_envelope"),
                ("ciphertext that is not base64", with(["ciphertext": "%%%"]), 400, "bad_envelope"),
                ("not JSON", Data("sealed?".utf8), 400, "bad_envelope"),
                ("empty", Data(), 400, "bad_envelope"),
                ("a JSON array", Data("[1,2]".utf8), 400, "bad_envelope"),
                ("over 2 MiB", Data(repeating: UInt8(ascii: " "), count: (2 << 20) + 1), 413, "payload_too_large"),
            ]
            for (what, body, status, code) in cases + (try Self.notDeliverable(own, to: key)) {
                for token in [api.reporter, api.admin] {
                    let reply = try await api.deliver(body, token: token)
                    #expect(reply.status == status && reply.errorCode == code, "\(what): \(reply.status) \(reply.json?.encodedString ?? "")")
                }
            }
            #expect(try await eventCount(api.db) == before, "nothing refused was written")
            // Without a token, nothing is looked at.
            #expect(try await api.call(.post, "/v1/outbox:deliver", token: nil, raw: envelope).status == 401)
            #expect(try await eventCount(api.db) == before)
        }
    }

    /// Envelopes that open but hold another request than the four writes, or a malformed one.
    private static func notDeliverable(_ own: String, to key: OutboxPublicKey) throws -> [(String, Data, Int, String)] {
        [
            ("the batch route", try sealed("/v1/incidents:batch", report(), to: key), 422, "not_deliverable"),
            ("an erasure", try sealed("/v1/incidents/\(own)/personal-data:erase", ["reason": "r"], to: key), 422, "not_deliverable"),
            ("a token", try sealed("/v1/admin/tokens", ["name": "sneaky", "role": "admin"], to: key), 422, "not_deliverable"),
            ("a GET", try sealed("/v1/incidents/\(own)", report(), method: "GET", to: key), 422, "not_deliverable"),
            ("a query string", try sealed("/v1/incidents?x=1", report(), to: key), 422, "not_deliverable"),
            ("a path past the route", try sealed("/v1/incidents/\(own)/amendments/x", report(), to: key), 422, "not_deliverable"),
            ("a relative path", try sealed("v1/incidents", report(), to: key), 422, "not_deliverable"),
            (
                "inside, not base64", try OutboxEnvelope.sealPlaintext(Data(#"{"method":"POST","path":"/v1/incidents","body":"%%"}"#.utf8), to: key), 400,
                "bad_envelope"
            ),
            ("inside, not JSON", try OutboxEnvelope.sealPlaintext(Data("hello".utf8), to: key), 400, "bad_envelope"),
            (
                "inside, an unknown field", try OutboxEnvelope.sealPlaintext(Data(#"{"method":"POST","path":"/v1/incidents","body":"","as":"admin"}"#.utf8), to: key),
                400, "bad_envelope"
            ),
        ]
    }

    @Test("a retired key still opens envelopes for 90 days, then answers 410 outbox_key_expired; an envelope's key id cannot be swapped")
    func retired() async throws {
        try await API.run { api in
            let old = try await api.outboxKey()
            let early = try sealed("/v1/incidents", report(), to: old)
            let late = try sealed("/v1/incidents", report(), to: old)
            let retired = try await api.db.pool.withConnection { try $0.transaction { try OutboxKeys(ring: TestKeys.ring).retireCurrent(on: $0) } }
            #expect(retired.retired == [old.id])
            let new = try await api.outboxKey()
            #expect(new.id == retired.current.id && new.id != old.id)

            #expect(try await api.deliver(early, token: api.reporter).status == 201, "a retired key still opens")
            #expect(try await api.deliver(try sealed("/v1/incidents", report(), to: new), token: api.reporter).status == 201)

            // Sealed to one key, relabelled as the other: the associated data binds the key id.
            var relabelled = try #require(try JSONValue.parse(late).objectValue)
            relabelled["key_id"] = .string(new.id)
            let swapped = try await api.deliver(JSONValue.object(relabelled).encoded(), token: api.reporter)
            #expect(swapped.status == 400 && swapped.errorCode == "envelope_unopenable")

            _ = try await api.db.pool.withConnection {
                try $0.query("UPDATE outbox_keys SET retired_at = now() - interval '91 days' WHERE key_id = $1", [old.id])
            }
            let expired = try await api.deliver(late, token: api.reporter)
            #expect(expired.status == 410 && expired.errorCode == "outbox_key_expired", "\(expired.json?.encodedString ?? "")")
            _ = try await api.db.pool.withConnection {
                try $0.query("UPDATE outbox_keys SET retired_at = now() - interval '89 days' WHERE key_id = $1", [old.id])
            }
            #expect(try await api.deliver(late, token: api.reporter).status == 201, "89 days after retirement it still opens")
        }
    }

    @Test("a master key rotation re-wraps the outbox key and keeps the pair: envelopes sealed before it still open")
    func masterKeyRotation() async throws {
        try await TestDatabase.with { db in
            // A ring of this test's own: the rotation's new key must not become the shared ring's.
            let ring = KeyRing(TestKeys.master)
            let key = try #require(try await db.pool.withConnection { try $0.transaction { try OutboxKeys(ring: ring).ensureCurrent(on: $0) } })
            let inner = OutboxWrite(method: "POST", path: "/v1/incidents", idempotencyKey: nil, body: report().encoded())
            let envelope = try OutboxEnvelope.parse(try OutboxEnvelope.seal(inner, to: key))
            let path = FileManager.default.temporaryDirectory.path + "/outbox-rotation-\(UUID().uuidString).key"
            defer { unlink(path) }
            let new = try MasterKey.create(path: path)
            try await KeyRotation(pool: db.pool, old: TestKeys.master, oldPath: TestKeys.file, new: new, newPath: path).run()
            let wrappedBy: String = try await db.pool.withConnection {
                try $0.query("SELECT master_key_id FROM outbox_keys WHERE key_id = $1", [key.id]).first!.decode(0)
            }
            #expect(wrappedBy == new.id)
            #expect(try await db.pool.withConnection { try OutboxKeys(ring: ring).current(on: $0) } == key, "the same pair")
            let privateKey = try await db.pool.withConnection { try OutboxKeys(ring: ring).privateKey(key.id, on: $0) }
            #expect(try envelope.open(with: privateKey) == inner)
        }
    }

    @Test("the id the answers name follows a retirement once it is read again, without holding up an answer")
    func headerFollowsRetirement() async throws {
        try await TestDatabase.with { db in
            let keys = OutboxKeys(ring: KeyRing(TestKeys.master))
            let old = try #require(try await db.pool.withConnection { try $0.transaction { try keys.ensureCurrent(on: $0) } })
            let current = CurrentOutboxKeyID(pool: db.pool, keys: keys, interval: .milliseconds(100))
            #expect(await current.id() == old.id, "the first read is waited for")
            let new = try await db.pool.withConnection { try $0.transaction { try keys.retireCurrent(on: $0) } }.current
            #expect(await current.id() == old.id, "within the interval, the id known")
            var seen = old.id
            for _ in 0..<100 where seen != new.id {
                try await Task.sleep(for: .milliseconds(50))
                seen = await current.id() ?? ""
            }
            #expect(seen == new.id)
        }
    }
}
