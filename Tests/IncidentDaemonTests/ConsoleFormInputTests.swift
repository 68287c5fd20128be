import Foundation
import HTTPTypes
import IncidentStore
import IncidentTesting
import Testing

@testable import IncidentDaemon

/// Every form and query of the console, given what no browser would send: each answer is a page
/// (HTML) or a redirect, never a 5xx.
@Suite("Web console: hostile form input is answered with a page, never a 5xx")
struct ConsoleFormInputTests {
    /// Values a form field may receive: empty, huge, control characters, markup, numbers out of
    /// range, other encodings' bytes, SQL and path tricks.
    static let hostile = [
        "", " ", "0", "-1", "99999999999999999999", "1e309", "NaN", "true", "null", "[]", "{}", "%", "%%", "%00", "\u{0}", "\t\r\n",
        "<script>alert(1)</script>", "\"><svg onload=alert(1)>", "' OR 1=1 --", "../../etc/passwd", "//evil.invalid", "Pejë", "Peć", "🇽🇰",
        String(repeating: "x", count: 5000), "2026-02-30", "2026-W99", "0000-00-00", "verified", "rejected", "duplicate", "admin",
    ]

    @Test("sign-in, the review forms, the amend form, admin forms and every filter take hostile values without a 5xx")
    func hostileInput() async throws {
        try await API.run { api in
            let id = try await ConsoleTests.seed(api)
            let browser = ConsoleBrowser(api.client)
            _ = try await browser.signIn(api.admin)
            let csrf = try #require(try await browser.get("/incidents/\(id)").hidden("csrf"))
            var random = SeededGenerator(seed: 20_261_204)
            func value() -> String { Self.hostile.randomElement(using: &random)! }
            var answered = 0
            for _ in 0..<40 {
                let posts: [(String, [String: String])] = [
                    ("/incidents/\(id)/decision", ["csrf": csrf, "expected_version": value(), "decision": value(), "note": value()]),
                    ("/incidents/\(id)/retraction", ["csrf": csrf, "expected_version": value(), "reason": value()]),
                    (
                        "/incidents/\(id)/amendment",
                        ["csrf": csrf, "expected_version": value(), "killed": value(), "summary": value(), "place": value(), "reason": value()]
                    ),
                    ("/incidents/\(value().addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)/decision", ["csrf": csrf, "note": value()]),
                    ("/admin/tokens", ["csrf": csrf, "name": value(), "role": value(), "days": value()]),
                ]
                for (path, form) in posts {
                    let page = try await browser.post(path, form)
                    #expect(page.status < 500, "POST \(path) \(form) answered \(page.status)")
                    answered += 1
                }
                let query = ["q", "municipality", "district", "category", "status", "since", "until", "cursor", "week", "principal", "action"].map {
                    "\($0)=\(value().addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)"
                }.joined(separator: "&")
                for path in ["/", "/incidents", "/incidents.csv", "/review", "/digests", "/admin"] {
                    let page = try await browser.get(path + "?" + query)
                    #expect(page.status < 500 && page.headers[.contentType]?.hasPrefix("text/") == true, "GET \(path)?\(query) answered \(page.status)")
                    answered += 1
                }
            }
            #expect(answered == 40 * 11)
            // The session survived it all.
            #expect(try await browser.get("/").status == 200)
        }
    }
}
