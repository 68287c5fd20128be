import Foundation
import Testing

@testable import IncidentRendering

@Suite("Trend chart: bars and casualty line per week, one week highlighted, the digest's own chart")
struct TrendChartTests {
    static let weeks = (40...47).map { n in
        TrendPoint(week: "2026-W\(n)", from: "2026-11-\(n - 30)", incidents: n - 38, killed: n % 2, injured: n % 3)
    }

    @Test("a bar per week, the last highlighted unless a week is named; nothing for no weeks")
    func barsAndHighlight() {
        let svg = TrendChart.svg(points: Self.weeks)
        #expect(svg.hasPrefix("<svg viewBox=\"0 0 920.0 280.0\"") && svg.hasSuffix("</svg>"))
        #expect(svg.matches(of: /class="bar"\/>/).count == 7 + 1)  // seven weeks and the legend's swatch
        #expect(svg.matches(of: /class="bar now"/).count == 1)
        #expect(svg.contains(">W47</text>") && svg.contains(">this week</text>"))
        #expect(!svg.contains("xmlns") && !svg.contains("style="))
        let named = TrendChart.svg(points: Self.weeks, highlighting: "2026-W40", label: "selected", width: 600)
        #expect(named.contains("<text x=\"77.8\" y=\"41.0\" class=\"tick\" text-anchor=\"middle\">selected</text>"))
        #expect(named.contains("viewBox=\"0 0 600.0 280.0\""))
        #expect(TrendChart.svg(points: []) == "")
    }

    @Test("the digest's HTML draws its trend with this chart and carries its style sheet")
    func digestUsesIt() throws {
        let digest = try DigestRenderingTests.digest()
        let html = DigestRendering.html(digest)
        #expect(html.contains("<figure>" + TrendChart.svg(points: digest.trend, highlighting: digest.week) + "\n<figcaption>"))
        #expect(html.contains(TrendChart.css))
    }
}
