import Foundation
import Testing

@testable import IncidentRendering

/// The weekly digest as Markdown, HTML and CSV.
@Suite struct DigestRenderingTests {
    static let json = """
        {"week": "2026-W48", "from": "2026-11-23", "to": "2026-11-29", "as_of": 812,
         "generated_at": "2026-11-30T01:10:00Z", "sensitivity": "RESTRICTED <b>",
         "totals": {"incidents": 3, "verified": 1, "killed": 1, "injured": 2, "abducted": 0, "displaced": 4},
         "previous_week": {"incidents": 1, "verified": 1, "killed": 0, "injured": 0, "abducted": 0, "displaced": 0},
         "four_week_average": {"incidents": 2.5, "verified": 1, "killed": 0.25, "injured": 1, "abducted": 0, "displaced": 1},
         "changes": {"vs_previous_week": {"incidents": 2, "verified": 0, "killed": 1, "injured": 2, "abducted": 0, "displaced": 4},
                     "vs_four_week_average": {"incidents": 0.5, "verified": 0, "killed": 0.75, "injured": 1, "abducted": 0, "displaced": 3}},
         "by_region": [
           {"district": "XK01", "district_name": "Mitrovica", "municipality": "XK01-01", "municipality_name": "Zubin Potok",
            "category": "ethnic_violence", "incidents": 2, "verified": 1, "killed": 1, "injured": 2, "abducted": 0, "displaced": 0},
           {"district": "XK02", "district_name": "Peja | Peć", "municipality": "XK02-01", "municipality_name": "=Peja",
            "category": "unrest", "incidents": 1, "verified": 0, "killed": 0, "injured": 0, "abducted": 0, "displaced": 4}],
         "movers": [{"municipality": "XK01-01", "name": "Zubin Potok", "district": "XK01", "incidents": 2, "previous_week": 0, "change": 2}],
         "notable": [{"incident_id": "0b6e2c1a-0000-4000-8000-000000000001", "occurred_day": "2026-11-24", "municipality": "XK01-01",
                      "municipality_name": "Zubin Potok", "category": "ethnic_violence", "subcategory": "assault", "status": "verified",
                      "summary": "See https://evil.example/x <script>alert(1)</script> | pipe", "killed": 1, "injured": 2, "abducted": 0, "displaced": 0}],
         "revisions": [{"incident_id": "0b6e2c1a-0000-4000-8000-000000000002", "change": "retracted", "recorded_at": "2026-11-25T08:30:00Z",
                        "occurred_day": "2026-11-20", "municipality": "XK02-01", "category": "unrest", "reason": "duplicate"}],
         "trend": [{"week": "2026-W47", "from": "2026-11-16", "incidents": 1, "killed": 0, "injured": 0},
                   {"week": "2026-W48", "from": "2026-11-23", "incidents": 3, "killed": 1, "injured": 2}],
         "disclosure": {"threshold": 3, "confidential": "suppressed"}}
        """

    static func digest() throws -> DigestDocument {
        try JSONDecoder().decode(DigestDocument.self, from: Data(json.utf8))
    }

    @Test func htmlEscapesFreeTextAndBreaksURLs() throws {
        let html = DigestRendering.html(try Self.digest())
        #expect(html.contains("See https:&#47;&#47;evil.example/x &lt;script&gt;alert(1)&lt;/script&gt; | pipe"))
        #expect(!html.contains("https://evil.example"))
        #expect(!html.contains("<script>"))
        #expect(!html.contains("://"))
        #expect(html.contains("<div class=\"marking\">RESTRICTED &lt;b&gt;</div>"))
        #expect(!html.contains("RESTRICTED <b>"))
        #expect(html.hasPrefix("<!DOCTYPE html>\n"))
        #expect(html.hasSuffix("</body>\n</html>\n"))
    }

    @Test func htmlHasTheChartsTablesAndCutoff() throws {
        let html = DigestRendering.html(try Self.digest())
        #expect(html.contains("aria-label=\"Incidents by district, stacked by category\""))
        #expect(html.contains("aria-label=\"Eight-week trend of incidents and casualties\""))
        #expect(html.contains("<b>Period:</b> ISO week 2026-W48, 23–29 November 2026"))
        #expect(html.contains("figures include the log up to position 812; generated 2026-11-30 01:10 UTC"))
        #expect(html.contains("<td>Peja | Peć</td>"))
        #expect(html.contains("<div class=\"card\"><div class=\"label\">Incidents</div><div class=\"value\">3</div>"))
        // The page header's marking is a CSS string: "<" and ">" are hex-escaped there.
        #expect(html.contains("content: \"RESTRICTED \\00003C b\\00003E \""))
    }

    @Test func markdownEscapesTableCells() throws {
        let markdown = DigestRendering.markdown(try Self.digest())
        #expect(markdown.hasPrefix("# Weekly incident digest — 2026-W48\n\n"))
        #expect(markdown.contains("| Peja \\| Peć |"))
        #expect(markdown.contains("\\<script>"))
        #expect(markdown.contains("## Key figures"))
        #expect(markdown.contains("| Incidents | 3 | 1 | +2 | 2.5 | +0.5 |"))
        #expect(markdown.contains("| Killed | 1 | 0 | +1 | 0.25 | +0.75 |"))
        #expect(markdown.contains("**Disclosure:** confidential incidents count only in district totals"))
    }

    @Test func csvHasHXLTagsAndNeutralizesFormulas() throws {
        let lines = DigestRendering.csv(try Self.digest()).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count == 5)
        #expect(lines[0].hasPrefix("district,district_name,municipality,municipality_name,category,incidents"))
        #expect(lines[1].hasPrefix("#adm1+code,#adm1+name,#adm2+code,#adm2+name,#event+type"))
        #expect(lines[2] == "XK01,Mitrovica,XK01-01,Zubin Potok,ethnic_violence,2,1,1,2,0,0")
        #expect(lines[3] == "XK02,Peja | Peć,XK02-01,'=Peja,unrest,1,0,0,0,0,4")
        #expect(lines[4] == "")
    }

    @Test func disclosureInWords() throws {
        #expect(DigestRendering.disclosureLine(try Self.digest())?.contains("at least 3 of them") == true)
    }
}
