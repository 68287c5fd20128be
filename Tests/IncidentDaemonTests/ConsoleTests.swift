import Foundation
import HTTPTypes
import HummingbirdTesting
import IncidentStore
import IncidentTesting
import NIOCore
import PostgresLibpq
import Testing

@testable import IncidentDaemon

@Suite("Web console: sign-in, sessions, forms and the API's rules in pages")
struct ConsoleTests {
    @Test("sign-in takes analysts, reviewers and admins only; the session cookie is HttpOnly and SameSite=Strict; sign-out ends it")
    func signInAndOut() async throws {
        try await API.run { api in
            let browser = ConsoleBrowser(api.client)
            let away = try await browser.get("/incidents?category=trafficking")
            #expect(away.status == 303 && away.location == "/login?next=%2Fincidents%3Fcategory%3Dtrafficking")
            #expect(try await browser.signIn("il_not-a-token").status == 401)
            #expect(try await browser.signIn(api.reporter).body.contains("a reporter token works with ictl"))
            let signedIn = try await browser.signIn(api.analyst)
            #expect(signedIn.status == 303 && signedIn.location == "/")
            let cookie = try #require(signedIn.headers[values: .setCookie].first { $0.hasPrefix("il_session=") })
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && !cookie.contains("Secure"))
            let stored: Int = try await api.db.pool.withConnection { connection in
                try connection.query("SELECT count(*) FROM console_sessions WHERE secret_hash = sha256(convert_to($1, 'UTF8'))", [browser.cookies["il_session"]!]).first!
                    .decode(0)
            }
            #expect(stored == 1, "the session is stored by its hash only")
            let overview = try await browser.get("/")
            #expect(overview.status == 200 && overview.body.contains("analyst · analyst"))
            // Sign-out is a form like any other: without its token it is refused.
            #expect(try await browser.post("/logout", [:]).status == 403)
            let out = try await browser.post("/logout", ["csrf": overview.hidden("csrf") ?? ""])
            #expect(out.status == 303 && out.location == "/login")
            #expect(try await browser.get("/").status == 303)
        }
    }

    @Test("a session idle for 30 minutes, or open for 8 hours, or whose token was revoked, is sent to the sign-in page")
    func lifetimes() async throws {
        try await API.run { api in
            for ending in [
                "UPDATE console_sessions SET last_seen_at = now() - interval '31 minutes'",
                "UPDATE console_sessions SET created_at = now() - interval '8 hours 1 minute'",
                "UPDATE api_tokens SET revoked_at = now() WHERE name = 'reviewer'",
            ] {
                let browser = ConsoleBrowser(api.client)
                #expect(try await browser.signIn(api.reviewer).status == 303)
                #expect(try await browser.get("/review").status == 200)
                _ = try await api.db.pool.withConnection { try $0.query(ending) }
                let after = try await browser.get("/review")
                #expect(after.status == 303 && after.location?.hasPrefix("/login") == true, "\(ending)")
            }
        }
    }

    @Test("a request keeps its session alive, writing last_seen_at only when it is a minute old or more")
    func keptAlive() async throws {
        try await API.run { api in
            let browser = ConsoleBrowser(api.client)
            _ = try await browser.signIn(api.analyst)
            func age() async throws -> Int {
                try await api.db.pool.withConnection { try $0.query("SELECT extract(epoch FROM now() - last_seen_at)::int FROM console_sessions").first!.decode(0) }
            }
            _ = try await api.db.pool.withConnection { try $0.query("UPDATE console_sessions SET last_seen_at = now() - interval '20 minutes'") }
            #expect(try await browser.get("/incidents").status == 200)
            // Written again: a minute at most, however slowly a loaded machine serves the page.
            #expect(try await age() < 60)
            _ = try await api.db.pool.withConnection { try $0.query("UPDATE console_sessions SET last_seen_at = now() - interval '20 seconds'") }
            #expect(try await browser.get("/incidents").status == 200)
            #expect(try await age() >= 20)
        }
    }

    @Test("every page carries the security headers and references nothing outside the server")
    func headersAndNothingOutside() async throws {
        try await API.run { api in
            let id = try await Self.seed(api)
            let browser = ConsoleBrowser(api.client)
            _ = try await browser.signIn(api.admin)
            for path in [
                "/login", "/about/map-data", "/", "/digests", "/admin", "/incidents", "/incidents/\(id)", "/review", "/assets/console.css", "/incidents/not-an-id",
            ] {
                let page = try await browser.get(path)
                #expect([200, 404].contains(page.status), "\(path) answered \(page.status)")
                #expect(page.headers[.contentSecurityPolicy] == "default-src 'self'; frame-ancestors 'none'", "\(path)")
                #expect(page.headers[.xContentTypeOptions] == "nosniff" && page.headers[.referrerPolicy] == "no-referrer", "\(path)")
                #expect(!page.body.contains("http://") && !page.body.contains("https://"), "\(path) references another origin")
                #expect(!page.body.contains("<script"), "\(path) has script")
            }
        }
    }

    @Test("a reviewer verifies from the incident's page; a stale form gets the conflict and the current state; a form without its token is refused")
    func reviewForms() async throws {
        try await API.run { api in
            let id = try await Self.seed(api)
            let browser = ConsoleBrowser(api.client)
            _ = try await browser.signIn(api.reviewer)
            let queue = try await browser.get("/review")
            #expect(queue.body.contains("/incidents/\(id)"))
            let page = try await browser.get("/incidents/\(id)")
            let csrf = try #require(page.hidden("csrf"))
            // Every form of the page carries the session's token, not only the sign-out form.
            #expect(page.body.components(separatedBy: "name=\"csrf\" value=\"\(csrf)\"").count - 1 == 4)
            #expect(!page.body.contains(">nil<") && !page.body.contains(": nil"))
            #expect(page.hidden("expected_version") == "1")
            let form = ["csrf": csrf, "expected_version": "1", "decision": "verified", "note": "Confirmed by the police station."]
            var forged = form
            forged["csrf"] = nil
            #expect(try await browser.post("/incidents/\(id)/decision", forged).status == 403)
            let done = try await browser.post("/incidents/\(id)/decision", form)
            #expect(done.status == 303 && done.location == "/incidents/\(id)")
            let after = try await browser.get("/incidents/\(id)")
            #expect(after.body.contains("<dt>Status</dt><dd>verified</dd>") && after.body.contains("Confirmed by the police station."))
            let amended = try await browser.post(
                "/incidents/\(id)/amendment", ["csrf": csrf, "expected_version": "2", "injured": "3", "killed": "0", "reason": "the hospital's count"])
            #expect(amended.status == 303)
            #expect(try await browser.get("/incidents/\(id)").body.contains("<dt>Injured</dt><dd>3</dd>"))
            let badCount = try await browser.post("/incidents/\(id)/amendment", ["csrf": csrf, "expected_version": "3", "killed": "many", "reason": "typo"])
            #expect(badCount.status == 422 && badCount.body.contains("killed"))
            let stale = try await browser.post("/incidents/\(id)/decision", form)
            #expect(stale.status == 409 && stale.body.contains("it is now at version 3") && stale.body.contains("name=\"expected_version\" value=\"3\""))
            let empty = try await browser.post("/incidents/\(id)/decision", ["csrf": csrf, "expected_version": "3", "decision": "verified", "note": " "])
            #expect(empty.status == 422 && empty.body.contains("note"))
            try await api.settle()
            let list = try await browser.get("/incidents?status=verified")
            #expect(list.body.contains("/incidents/\(id)"))
        }
    }

    @Test("an analyst gets 404 on a confidential incident's page, sees no review forms and no review queue")
    func analystLimits() async throws {
        try await API.run { api in
            let open = try await Self.seed(api)
            let confidential = try await Self.seed(api, ["sensitivity": "confidential"])
            let browser = ConsoleBrowser(api.client)
            _ = try await browser.signIn(api.analyst)
            #expect(try await browser.get("/incidents/\(confidential)").status == 404)
            let page = try await browser.get("/incidents/\(open)")
            #expect(page.status == 200 && !page.body.contains("/decision") && !page.body.contains("/retraction"))
            // As in the API: analysts never learn who reported or who wrote an event.
            #expect(!page.body.contains("Reported by") && !page.body.contains("reporter-a"))
            // The browser's history keeps titles: no free text in them.
            #expect(page.body.contains("<title>Incident \(open.prefix(8)) · Incident Log</title>"))
            #expect(try await browser.get("/review").status == 403)
            #expect(!(try await browser.get("/incidents")).body.contains(confidential))
            let forged = try await browser.post(
                "/incidents/\(open)/decision", ["csrf": page.hidden("csrf") ?? "", "expected_version": "1", "decision": "verified", "note": "x"])
            #expect(forged.status == 403)
        }
    }

    @Test("the overview's table has the 38 municipalities with the figures the API gives for the same period; the list filters as the API does")
    func overviewFigures() async throws {
        try await API.run { api in
            for _ in 0..<3 { _ = try await Self.seed(api) }
            _ = try await Self.seed(api, ["municipality": "Pejë", "killed": 2])
            try await api.settle()
            let browser = ConsoleBrowser(api.client)
            _ = try await browser.signIn(api.analyst)
            let overview = try await browser.get("/?since=2026-11-01&until=2026-11-30")
            #expect(overview.body.components(separatedBy: "<tr><th scope=\"row\">").count - 1 == 38)
            #expect(overview.body.components(separatedBy: "<a class=\"mm-area\"").count - 1 == 38)
            #expect(overview.body.contains("href=\"/incidents?municipality=XK-PEJ-01&amp;since=2026-11-01&amp;until=2026-11-30\""))
            let summary = try await api.call(.get, "/v1/summaries?level=municipality&since=2026-11-01&until=2026-11-30", token: api.analyst)
            let zubin = summary["rows"]?.arrayValue?.first { $0.objectValue?["name"]?.stringValue?.hasPrefix("Zubin Potok") == true }
            #expect(zubin?.objectValue?["incidents"] == 3)
            #expect(overview.body.contains("Zubin Potok</a></th><td>Mitrovicë/Mitrovica</td><td>3</td>"))
            let listed = try await browser.get("/incidents?municipality=XK-PEJ-01&q=")
            #expect(listed.body.contains("1 incidents on this page"))
            let csv = try await browser.get("/incidents.csv?municipality=XK-PEJ-01")
            #expect(csv.headers[.contentType] == "text/csv; charset=utf-8" && csv.headers[.contentDisposition]?.contains("attachment") == true)
            let lines = csv.body.split(separator: "\r\n")
            #expect(lines.count == 2 && lines[0] == "ID,OCCURRED,MUNICIPALITY,CATEGORY,STATUS,VERSION,KILLED,INJURED,SUMMARY" && lines[1].contains("XK-PEJ-01"))
            let hxl = try await browser.get("/incidents.hxl")
            #expect(hxl.body.split(separator: "\r\n").count == 2 + 4 && hxl.body.contains("#event+id,#date+occurred"))
            let bad = try await browser.get("/incidents?municipality=Atlantis")
            #expect(bad.status == 422 && bad.body.contains("municipality"))
        }
    }

    @Test("admins make and revoke tokens, rebuild a projection and read the audit from /admin; others get 403")
    func adminPage() async throws {
        try await API.run { api in
            let browser = ConsoleBrowser(api.client)
            _ = try await browser.signIn(api.admin)
            let page = try await browser.get("/admin")
            #expect(page.status == 200 && page.body.contains("<th scope=\"row\">reviewer</th>") && page.body.contains("token.create"))
            let csrf = try #require(page.hidden("csrf"))
            let made = try await browser.post("/admin/tokens", ["csrf": csrf, "name": "field-peja-1", "role": "reporter", "days": "30"])
            let secret = try #require(
                made.body.range(of: #"<code>(il_[A-Za-z0-9_-]+)</code>"#, options: .regularExpression).map { String(made.body[$0].dropFirst(6).dropLast(7)) })
            #expect(try await api.call(.get, "/v1/incidents", token: secret).status == 200)
            #expect(try await browser.post("/admin/tokens", ["csrf": csrf, "name": "field-peja-1", "role": "reporter"]).body.contains("names are never reused"))
            #expect(try await browser.post("/admin/tokens/field-peja-1/revocation", [:]).status == 403)
            #expect(try await browser.post("/admin/tokens/field-peja-1/revocation", ["csrf": csrf]).status == 303)
            #expect(try await api.call(.get, "/v1/incidents", token: secret).status == 401)
            let rebuilt = try await browser.post("/admin/projections/region_summary/rebuild", ["csrf": csrf])
            #expect(rebuilt.status == 303 || rebuilt.status == 503, "\(rebuilt.status)")
            #expect(try await browser.get("/admin?action=token.revoke").body.contains("field-peja-1"))
            let analyst = ConsoleBrowser(api.client)
            _ = try await analyst.signIn(api.analyst)
            #expect(try await analyst.get("/admin").status == 403)
        }
    }

    @Test("/digests picks a week and offers the digest in every format, each what ictl digest renders from the API's answer")
    func digests() async throws {
        try await API.run { api in
            _ = try await Self.seed(api, ["occurred_at": "2026-11-25"])
            let browser = ConsoleBrowser(api.client)
            _ = try await browser.signIn(api.analyst)
            let page = try await browser.get("/digests?week=2026-W48")
            #expect(page.status == 200 && page.body.contains("2026-W48: 2026-11-23 to 2026-11-29"))
            for format in ["html", "md", "csv", "json"] { #expect(page.body.contains("href=\"/digests/2026-W48.\(format)\"")) }
            let json = try await browser.get("/digests/2026-W48.json")
            let fromAPI = try await api.call(.get, "/v1/digests/weekly?week=2026-W48", token: api.analyst)
            // Generated a moment apart: everything else is the same.
            var file = try #require(try JSONValue.parse(Data(json.body.utf8)).objectValue), answer = try #require(fromAPI.json?.objectValue)
            file["generated_at"] = nil
            answer["generated_at"] = nil
            #expect(file == answer)
            let csv = try await browser.get("/digests/2026-W48.csv")
            #expect(csv.headers[.contentType] == "text/csv; charset=utf-8" && csv.body.contains("#adm1"))
            let html = try await browser.get("/digests/2026-W48.html")
            #expect(html.headers[.contentDisposition] == "attachment; filename=\"digest-2026-W48.html\"" && html.body.lowercased().hasPrefix("<!doctype html>"))
            #expect(try await browser.get("/digests/2026-W99.md").status == 404)
            #expect(try await browser.get("/digests?week=someday").status == 422)
        }
    }

    @Test("after sign-in only a path of this console is followed: no other site, however it is spelled")
    func nextIsLocal() async throws {
        for next in ["/\t/evil.invalid", "/\n/evil.invalid", "/\\evil.invalid", "//evil.invalid", "https://evil.invalid", "/login?next=//evil.invalid", nil] {
            #expect(ConsoleController.safeNext(next) == "/", "\(String(describing: next))")
        }
        #expect(ConsoleController.safeNext("/incidents?category=trafficking&since=2026-11-01") == "/incidents?category=trafficking&since=2026-11-01")
        try await API.run { api in
            // A sign-in POST without the form's cookie is refused before its body is read.
            let bare = try await api.client.execute(
                uri: "/login", method: .post, headers: [.contentType: "application/x-www-form-urlencoded"], body: ByteBuffer(string: "token=\(api.admin)"))
            #expect(bare.status == .forbidden && bare.headers[values: .setCookie].allSatisfy { !$0.hasPrefix("il_session=") })
            let browser = ConsoleBrowser(api.client)
            let form = try await browser.get("/login?next=%2F%09%2Fevil.invalid")
            let signedIn = try await browser.post("/login", ["csrf": form.hidden("csrf") ?? "", "token": api.admin, "next": "/\t/evil.invalid"])
            #expect(signedIn.status == 303 && signedIn.location == "/")
        }
    }

    @Test("the overview's period: the one before is as long, the trend's eight weeks end with the period's last week")
    func period() {
        let november = ConsolePeriod(since: "2026-11-01", until: "2026-11-30")
        #expect(november.previous.since == "2026-10-02" && november.previous.until == "2026-10-31")
        #expect(ConsolePeriod(since: "2024-03-01", until: "2024-03-01").previous.since == "2024-02-29")
        #expect(november.trendEnd.description == "2026-W49")
        let byDefault = ConsolePeriod(since: nil, until: nil, now: IsoWeek("2026-W49")!.interval.start.addingTimeInterval(3600))
        #expect(byDefault.since == "2026-11-02" && byDefault.until == "2026-11-29")
    }

    /// Reports one incident as the reporter; its id.
    static func seed(_ api: API, _ changes: [String: JSONValue?] = [:]) async throws -> String {
        let id = UUID().uuidString.lowercased()
        var all = changes
        all["incident_id"] = .string(id)
        let reply = try await api.call(.post, "/v1/incidents", token: api.reporter, json: report(all))
        #expect(reply.status == 201)
        try await api.settle()
        return id
    }
}
