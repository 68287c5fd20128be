import Foundation
import HTTPTypes
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

@testable import IncidentDaemon

/// The access audit's rows, oldest first: action, principal, incident id, target, reason.
private func auditRows(_ db: TestDatabase) async throws -> [(action: String, principal: String, incident: String?, target: String?, reason: String?)] {
    try await db.pool.withConnection { connection in
        try connection.query("SELECT action, principal, incident_id::text, target, reason FROM access_audit ORDER BY id").rows.map {
            (
                try $0.decode(0, as: String.self), try $0.decode(1, as: String.self), try $0.decodeIfPresent(2, as: String.self),
                try $0.decodeIfPresent(3, as: String.self), try $0.decodeIfPresent(4, as: String.self)
            )
        }
    }
}

/// Every value of every audit row, as one text.
private func auditText(_ db: TestDatabase) async throws -> String {
    try await db.pool.withConnection { try $0.query("SELECT coalesce(string_agg(a::text, ' '), '') FROM access_audit a").first!.decode(0) }
}

/// The SQLSTATE `sql` fails with on `connection`, or "ok".
private func outcome(of sql: String, on connection: PostgresConnection) -> String {
    do {
        try connection.execute(sql)
        return "ok"
    } catch let error as DatabaseError {
        return error.sqlState ?? "no sqlstate"
    } catch {
        return "\(error)"
    }
}

@Suite("Access audit (docs/operations.md, The access audit)")
struct AccessAuditTests {
    static let victim = "Blerina Uniquename-Audit"
    static let phone = "+383 49 765 432"

    @Test("personal data only with include=personal, for admins, with a reason of 5 to 500 characters; each read is one audit record without the data")
    func personalDataOnRequest() async throws {
        try await API.run { api in
            let id = try #require(
                try await api.call(
                    .post, "/v1/incidents", token: api.reporter,
                    json: report([
                        "personal": ["victims": [["name": .string(Self.victim), "phone": .string(Self.phone)]]]
                    ]))["incident_id"]?.stringValue)
            let path = "/v1/incidents/\(id)"

            // Not asked for: no answer carries personal data, not even an admin's.
            for token in api.allTokens where token != api.otherReporter {
                let plain = try await api.call(.get, path + "?history=true", token: token)
                #expect(plain.status == 200)
                #expect(plain["incident"]?.objectValue?.keys.contains("personal") == false, "no personal field without include=personal")
                #expect(plain.json?.encodedString.contains(Self.victim) == false)
            }

            // Asked for without a good reason: 400, whatever the role would be allowed.
            try await Self.refusedWithoutReasonOrForOtherRoles(api, path: path)

            // An admin with a reason reads it; the read is recorded once, with the reason.
            let reason = "Follow-up call agreed with the protection officer"
            let read = try await api.call(.get, path + "?include=personal", token: api.admin, headers: [.accessReason: reason])
            #expect(read.status == 200)
            #expect(read["incident"]?.objectValue?["personal"]?.encodedString.contains(Self.victim) == true)
            let reads = try await api.db.pool.withConnection { connection in
                try connection.query(
                    """
                    SELECT principal, role, incident_id::text, reason, request_id, client_address FROM access_audit WHERE action = 'personal_data.read'
                    """
                ).rows
            }
            #expect(reads.count == 1)
            let row = try #require(reads.first)
            #expect(try row.decode(0, as: String.self) == "admin")
            #expect(try row.decode(1, as: String.self) == "admin")
            #expect(try row.decode(2, as: String.self) == id)
            #expect(try row.decode(3, as: String.self) == reason)
            #expect(try row.decodeIfPresent(4, as: String.self)?.isEmpty == false, "the request id is recorded")
            #expect(try row.decodeIfPresent(5, as: String.self) == "127.0.0.1", "the client's address is recorded")

            // The audit as the API serves it: admins only, filtered, no personal data.
            let listed = try await api.call(.get, "/v1/admin/audit?action=personal_data.read&incident=\(id)", token: api.admin)
            #expect(listed.status == 200)
            let items = try #require(listed["items"]?.arrayValue)
            #expect(items.count == 1)
            #expect(items.first?.objectValue?["reason"]?.stringValue == reason)
            #expect(items.first?.objectValue?["principal"]?.stringValue == "admin")
            #expect(listed["next_cursor"] == .null)
            for token in [api.reporter, api.reviewer, api.analyst] {
                #expect(try await api.call(.get, "/v1/admin/audit", token: token).status == 403)
            }
            let text = try await auditText(api.db)
            #expect(!text.contains(Self.victim) && !text.contains(Self.phone), "the audit holds no personal data")
            #expect(listed.json?.encodedString.contains(Self.victim) == false)
        }
    }

    /// Personal data asked for without a good reason (400), or by another role than admin (403): no record.
    private static func refusedWithoutReasonOrForOtherRoles(_ api: API, path: String) async throws {
        let missing = try await api.call(.get, path + "?include=personal", token: api.admin)
        #expect(missing.status == 400 && missing.errorCode == "reason_required", "\(missing.json?.encodedString ?? "")")
        let blank = try await api.call(.get, path + "?include=personal", token: api.admin, headers: [.accessReason: "   "])
        #expect(blank.status == 400 && blank.errorCode == "reason_required")
        for reason in ["why", String(repeating: "r", count: 501)] {
            let bad = try await api.call(.get, path + "?include=personal", token: api.admin, headers: [.accessReason: reason])
            #expect(bad.status == 400 && bad.errorCode == "reason_invalid", "\(reason.count) characters: \(bad.status)")
        }
        #expect(try await api.call(.get, path + "?include=names", token: api.admin, headers: [.accessReason: "a good reason"]).status == 400)
        // Other roles: 403, the incident's own reporter included.
        for token in [api.reporter, api.reviewer, api.analyst] {
            let refused = try await api.call(.get, path + "?include=personal", token: token, headers: [.accessReason: "a good reason"])
            #expect(refused.status == 403, "\(refused.status)")
        }
        #expect(try await auditRows(api.db).filter { $0.action == "personal_data.read" }.isEmpty, "refused reads leave no record")
    }

    @Test("one audit record for each erasure, redaction, token created or revoked (API and local) and rebuild; paging with cursor; bad filters are 400")
    func oneRecordPerAction() async throws {
        try await API.run { api in
            let before = try await auditRows(api.db)
            // API.run made its five tokens locally: each is recorded, as the local user.
            #expect(before.count == 5 && before.allSatisfy { $0.action == "token.create" && $0.principal.hasPrefix("local:") }, "\(before)")

            let erasable = try #require(
                try await api.call(
                    .post, "/v1/incidents", token: api.reporter,
                    json: report([
                        "personal": ["victims": [["name": .string(Self.victim)]]]
                    ]))["incident_id"]?.stringValue)
            let redactable = try #require(try await api.call(.post, "/v1/incidents", token: api.reporter, json: report())["incident_id"]?.stringValue)
            #expect(try await auditRows(api.db).count == 5, "reports are not audited")

            let erasureReason = "The victim asked, through \(Self.victim)'s lawyer"
            #expect(try await api.call(.post, "/v1/incidents/\(erasable)/personal-data:erase", token: api.admin, json: ["reason": .string(erasureReason)]).status == 201)
            #expect(try await api.call(.post, "/v1/incidents/\(redactable)/narrative:redact", token: api.admin, json: ["reason": "names a witness"]).status == 201)
            #expect(try await api.call(.post, "/v1/admin/tokens", token: api.admin, json: ["name": "field-7", "role": "reporter", "expires": "90d"]).status == 201)
            #expect(try await api.call(.delete, "/v1/admin/tokens/field-7", token: api.admin).status == 200)
            #expect(try await api.call(.delete, "/v1/admin/tokens/nobody", token: api.admin).status == 404)
            #expect(try await api.call(.post, "/v1/admin/projections/incidents:rebuild", token: api.admin).status == 202)
            // Refused actions leave no record.
            #expect(try await api.call(.post, "/v1/admin/tokens", token: api.reviewer, json: ["name": "field-8", "role": "reporter"]).status == 403)
            #expect(try await api.call(.post, "/v1/incidents/\(redactable)/personal-data:erase", token: api.reviewer, json: ["reason": "no"]).status == 403)
            // A local revocation (as `incidentd token revoke` makes it).
            try await AccessTokens(pool: api.db.pool).revoke(name: "analyst")

            let after = Array(try await auditRows(api.db).dropFirst(5))
            #expect(after.map(\.action) == ["personal_data.erase", "narrative.redact", "token.create", "token.revoke", "projection.rebuild", "token.revoke"], "\(after)")
            #expect(after.prefix(5).allSatisfy { $0.principal == "admin" })
            #expect(after[0].incident == erasable && after[1].incident == redactable)
            #expect(after[2].target == "field-7" && after[3].target == "field-7" && after[4].target == "incidents" && after[5].target == "analyst")
            #expect(after[5].principal.hasPrefix("local:"))
            // The erasure's reason stays sealed in the log, where a redaction can reach it; the audit has none.
            #expect(after[0].reason == nil)
            let text = try await auditText(api.db)
            #expect(!text.contains(Self.victim) && !text.contains("lawyer"), "the audit holds no personal data and no sealed text")

            // Every record, by pages of 3: the same records in the same order, each once.
            let (seen, pages) = try await Self.auditByPagesOfThree(api)
            #expect(seen == before.map(\.action) + after.map(\.action))
            #expect(pages == 4)

            try await Self.auditFilters(api)
        }
    }

    /// The actions of every record, read by pages of 3, and the number of pages.
    private static func auditByPagesOfThree(_ api: API) async throws -> (seen: [String], pages: Int) {
        var seen: [String] = []
        var cursor: String?
        var pages = 0
        repeat {
            let page = try await api.call(
                .get, "/v1/admin/audit?limit=3" + (cursor.map { "&cursor=" + $0.addingPercentEncoding(withAllowedCharacters: .alphanumerics)! } ?? ""), token: api.admin)
            #expect(page.status == 200)
            seen += (page["items"]?.arrayValue ?? []).compactMap { $0.objectValue?["action"]?.stringValue }
            cursor = page["next_cursor"]?.stringValue
            pages += 1
        } while cursor != nil && pages < 10
        return (seen, pages)
    }

    /// The audit filtered by principal, action and time; bad filters are 400.
    private static func auditFilters(_ api: API) async throws {
        let byPrincipal = try await api.call(.get, "/v1/admin/audit?principal=admin", token: api.admin)
        #expect(byPrincipal["items"]?.arrayValue?.count == 5)
        let revocations = try await api.call(.get, "/v1/admin/audit?action=token.revoke", token: api.admin)
        #expect(revocations["items"]?.arrayValue?.count == 2)
        let today = IncidentTime.kosovoDay(of: Date())
        let sinceToday = try await api.call(.get, "/v1/admin/audit?since=\(today)&until=\(today)&limit=1000", token: api.admin)
        #expect(sinceToday["items"]?.arrayValue?.count == 11)
        let future = try await api.call(.get, "/v1/admin/audit?since=2999-01-01T00:00:00Z", token: api.admin)
        #expect(future["items"]?.arrayValue?.isEmpty == true)
        let past = try await api.call(.get, "/v1/admin/audit?until=2001-01-01", token: api.admin)
        #expect(past["items"]?.arrayValue?.isEmpty == true)
        for bad in [
            "limit=0", "limit=1001", "limit=ten", "action=token.steal", "incident=not-an-id", "since=yesterday", "until=2026-13-01",
            "cursor=bm9wZQ", "principal=%00", "since=99999-01-01T00:00:00Z",
        ] {
            let reply = try await api.call(.get, "/v1/admin/audit?" + bad, token: api.admin)
            #expect(reply.status == 400 && reply.errorCode == "bad_filter", "\(bad): \(reply.status) \(reply.json?.encodedString ?? "")")
        }
    }

    @Test("an action whose audit record cannot be written does not happen: 503, and no key destroyed, no event, no token, no rebuild, no data read")
    func noActionWithoutItsRecord() async throws {
        try await API.run { api in
            let id = try #require(
                try await api.call(
                    .post, "/v1/incidents", token: api.reporter,
                    json: report([
                        "personal": ["victims": [["name": .string(Self.victim)]]]
                    ]))["incident_id"]?.stringValue)
            let stream = "incident-" + id
            func keys() async throws -> Int {
                try await api.db.pool.withConnection { try $0.query("SELECT count(*) FROM incident_keys WHERE incident_id = $1", [id]).first!.decode(0) }
            }
            let keysBefore = try await keys()
            #expect(keysBefore == 2, "a personal-data key and a narrative key")

            // As the table's owner: every insert into the audit fails.
            try await Self.refuseEveryAuditInsert(api.db)

            let erase = try await api.call(.post, "/v1/incidents/\(id)/personal-data:erase", token: api.admin, json: ["reason": "asked by the victim"], allow503: true)
            #expect(erase.status == 503 && erase.errorCode == "audit_unavailable", "\(erase.status) \(erase.json?.encodedString ?? "")")
            #expect(erase.headers[.retryAfter] != nil)
            let redact = try await api.call(.post, "/v1/incidents/\(id)/narrative:redact", token: api.admin, json: ["reason": "names a witness"], allow503: true)
            #expect(redact.status == 503 && redact.errorCode == "audit_unavailable")
            #expect(try await keys() == keysBefore, "no key was destroyed")
            #expect(try await eventCount(api.db, stream: stream) == 1, "no event was appended")
            let erasures: Int = try await api.db.pool.withConnection { try $0.query("SELECT count(*) FROM personal_data_erasures").first!.decode(0) }
            #expect(erasures == 0)

            let read = try await api.call(.get, "/v1/incidents/\(id)?include=personal", token: api.admin, headers: [.accessReason: "a good reason"], allow503: true)
            #expect(read.status == 503 && read.errorCode == "audit_unavailable")
            #expect(read.json?.encodedString.contains(Self.victim) == false, "nothing was read")

            try await Self.tokensAndRebuildWaitForTheAudit(api)

            // An outbox delivery that carries personal data is not stored either.
            let delivered = UUID().uuidString.lowercased()
            let envelope = try sealed(
                "/v1/incidents", report(["incident_id": .string(delivered), "personal": ["victims": [["name": "Someone Else"]]]]), to: try await api.outboxKey())
            let delivery = try await api.call(
                .post, "/v1/outbox:deliver", token: api.reporter, raw: envelope, headers: [.contentType: "application/json"], allow503: true)
            #expect(delivery.status == 503)
            #expect(try await eventCount(api.db, stream: "incident-" + delivered) == 0)

            // Once the audit can be written again, the same erasure goes through, with its record.
            try await api.db.pool.withConnection { try $0.execute("DROP TRIGGER refuse_audit ON access_audit") }
            #expect(try await api.call(.post, "/v1/incidents/\(id)/personal-data:erase", token: api.admin, json: ["reason": "asked by the victim"]).status == 201)
            #expect(try await keys() == keysBefore - 1)
            #expect(try await auditRows(api.db).filter { $0.action == "personal_data.erase" }.count == 1)
        }
    }

    /// A trigger that makes every insert into the audit fail.
    private static func refuseEveryAuditInsert(_ db: TestDatabase) async throws {
        try await db.pool.withConnection { connection in
            try connection.execute(
                """
                CREATE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'the audit disk is full (test)'; END $$;
                CREATE TRIGGER refuse_audit BEFORE INSERT ON access_audit FOR EACH ROW EXECUTE FUNCTION refuse_audit();
                """)
        }
    }

    /// With the audit refusing inserts: no token made or revoked, no rebuild started.
    private static func tokensAndRebuildWaitForTheAudit(_ api: API) async throws {
        let token = try await api.call(.post, "/v1/admin/tokens", token: api.admin, json: ["name": "unrecorded", "role": "admin"], allow503: true)
        #expect(token.status == 503 && token["token"] == nil)
        let revoke = try await api.call(.delete, "/v1/admin/tokens/reviewer", token: api.admin, allow503: true)
        #expect(revoke.status == 503)
        let tokens: [String] = try await api.db.pool.withConnection {
            try $0.query("SELECT name FROM api_tokens WHERE name = 'unrecorded' OR revoked_at IS NOT NULL").rows.map { try $0.decode(0) }
        }
        #expect(tokens.isEmpty, "no token made, none revoked: \(tokens)")
        #expect(try await api.call(.get, "/v1/taxonomy", token: api.reviewer).status == 200, "the reviewer's token still works")

        let rebuild = try await api.call(.post, "/v1/admin/projections/incidents:rebuild", token: api.admin, allow503: true)
        #expect(rebuild.status == 503)
        let projections = try await api.call(.get, "/v1/admin/projections", token: api.admin)
        #expect(projections["projections"]?.arrayValue?.allSatisfy { $0.objectValue?["rebuilding"] == false } == true, "no rebuild started")
    }

    @Test("an action that fails after its audit record was written leaves no record: the erasure's event cannot be appended, the key stays, the audit is empty")
    func noRecordWithoutItsAction() async throws {
        try await TestDatabase.with { db in
            let service = IncidentService(pool: db.pool, reference: try await ReferenceData.load(db.pool), keys: TestKeys.ring)
            let admin = Principal(name: "admin", role: .admin)
            let id = try await service.report(
                report(["personal": ["victims": [["name": .string(Self.victim)]]]]), idempotencyKey: nil,
                by: admin, metadata: EventMetadata()
            ).incidentID
            // As the owner: the log refuses the erasure's event, after the record and the key's destruction.
            try await db.pool.withConnection { connection in
                try connection.execute(
                    """
                    CREATE FUNCTION refuse_erasure() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN IF NEW.type = 'PersonalDataErased' THEN RAISE EXCEPTION 'no erasures today (test)'; END IF; RETURN NEW; END $$;
                    CREATE TRIGGER refuse_erasure BEFORE INSERT ON events FOR EACH ROW EXECUTE FUNCTION refuse_erasure();
                    """)
            }
            await #expect(throws: DatabaseError.self) {
                try await service.erasePersonalData(id, reason: "asked by the victim", by: admin, metadata: EventMetadata(), audit: .local)
            }
            #expect(try await auditRows(db).isEmpty, "no record of an erasure that did not happen")
            let view = try await service.incident(id, history: false, for: admin, personal: .init(by: .local, reason: "check the key is still there"))
            #expect(view.personal?.encodedString.contains(Self.victim) == true, "the key was not destroyed")
            #expect(try await auditRows(db).map(\.action) == ["personal_data.read"])
        }
    }

    @Test("the audit is append-only: UPDATE, DELETE and TRUNCATE fail for its owner; incident_app may only INSERT and SELECT")
    func appendOnly() async throws {
        try await API.run { api in
            let sessions = try await api.db.pool.withConnection { connection in
                let owner = ["UPDATE access_audit SET reason = 'rewritten'", "DELETE FROM access_audit", "TRUNCATE access_audit"].map { outcome(of: $0, on: connection) }
                let app = try connection.transaction(begin: "BEGIN; SET LOCAL ROLE incident_app") { connection in
                    [
                        outcome(of: "INSERT INTO access_audit (principal, role, action) VALUES ('x', 'admin', 'token.create')", on: connection),
                        outcome(of: "SELECT count(*) FROM access_audit", on: connection),
                    ]
                }
                let appUpdate = try connection.transaction(begin: "BEGIN; SET LOCAL ROLE incident_app") { outcome(of: "UPDATE access_audit SET reason = 'x'", on: $0) }
                let appDelete = try connection.transaction(begin: "BEGIN; SET LOCAL ROLE incident_app") { outcome(of: "DELETE FROM access_audit", on: $0) }
                let appTruncate = try connection.transaction(begin: "BEGIN; SET LOCAL ROLE incident_app") { outcome(of: "TRUNCATE access_audit", on: $0) }
                return (owner, app, [appUpdate, appDelete, appTruncate])
            }
            // 55000: the trigger's object_not_in_prerequisite_state; 42501: insufficient privilege.
            #expect(sessions.0 == ["55000", "55000", "55000"], "as the owner: \(sessions.0)")
            #expect(sessions.1 == ["ok", "ok"], "as incident_app: \(sessions.1)")
            #expect(sessions.2 == ["42501", "42501", "42501"], "as incident_app: \(sessions.2)")
            #expect(try await auditRows(api.db).count == 5 + 1, "every row is still there")
        }
    }
}
