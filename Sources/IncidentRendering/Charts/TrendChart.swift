import Foundation

/// The trend chart of the weekly digest and of the console's overview, drawn by one piece of code:
/// incidents per week as bars, killed + injured as a dashed line, one week highlighted.
///
/// The chart is styled by class names (``css``), never by inline styles, so a page under a strict
/// Content-Security-Policy (no inline style) can show it with its own style sheet.
public enum TrendChart {
    /// The chart as one inline `<svg>` element (no `xmlns`: it is meant for HTML, where it is not needed).
    ///
    /// - Parameters:
    ///   - points: the weeks, oldest first.
    ///   - week: the week to highlight (the last point with that week); the last point when nil or absent.
    ///   - label: the text on the highlighted week's band.
    ///   - width: the chart's width in pixels (it scales down with the page; 920 fills the digest's column).
    /// - Returns: the `<svg>`, or "" when there are no points.
    public static func svg(points: [TrendPoint], highlighting week: String? = nil, label: String = "this week", width: Double = 920) -> String {
        guard !points.isEmpty else { return "" }
        let height = 280.0, left = 44.0, right = 16.0, top = 46.0, bottom = 50.0
        let plotHeight = height - top - bottom, harm = points.map { $0.killed + $0.injured }
        let (axisTop, step) = DigestRendering.niceScale(Double(max(points.map(\.incidents).max() ?? 0, harm.max() ?? 0)))
        let slot = (width - left - right) / Double(points.count), barWidth = min(44, slot * 0.5)
        let current = points.lastIndex { $0.week == week } ?? points.count - 1
        func y(_ value: Int) -> Double { top + plotHeight - Double(value) / axisTop * plotHeight }
        func cx(_ index: Int) -> Double { left + (Double(index) + 0.5) * slot }
        var body =
            "<rect x=\"\(f(cx(current) - slot / 2 + 3))\" y=\"\(f(top - 16))\" width=\"\(f(slot - 6))\" "
            + "height=\"\(f(plotHeight + 56))\" class=\"band\"/>"
            + text(cx(current), top - 5, label, "class=\"tick\" text-anchor=\"middle\"")
        for tick in stride(from: 0.0, through: axisTop + step / 2, by: step) {
            let ty = top + plotHeight - tick / axisTop * plotHeight
            body +=
                "<line x1=\"\(f(left))\" y1=\"\(f(ty))\" x2=\"\(f(width - right))\" y2=\"\(f(ty))\" class=\"grid\"/>"
                + text(left - 6, ty + 4, DigestRendering.number(tick), "class=\"tick\" text-anchor=\"end\"")
        }
        for (i, point) in points.enumerated() {
            let barTop = y(point.incidents), isCurrent = i == current
            body +=
                "<rect x=\"\(f(cx(i) - barWidth / 2))\" y=\"\(f(barTop))\" width=\"\(f(barWidth))\" "
                + "height=\"\(f(top + plotHeight - barTop))\" class=\"\(isCurrent ? "bar now" : "bar")\"/>"
            if point.incidents > 0 { body += text(cx(i), barTop - 5, String(point.incidents), "class=\"val\" text-anchor=\"middle\"") }
            let week = point.week.split(separator: "-").last.map(String.init) ?? point.week
            body +=
                text(cx(i), top + plotHeight + 17, week, "text-anchor=\"middle\"\(isCurrent ? " font-weight=\"700\"" : "")")
                + text(cx(i), top + plotHeight + 32, DigestRendering.shortDay(point.from, withYear: false), "class=\"tick\" text-anchor=\"middle\"")
        }
        let line = harm.enumerated().map { "\(f(cx($0.offset))),\(f(y($0.element)))" }.joined(separator: " ")
        body += "<polyline points=\"\(line)\" class=\"harm\"/>"
        for (i, value) in harm.enumerated() {
            body += "<circle cx=\"\(f(cx(i)))\" cy=\"\(f(y(value)))\" r=\"4\" class=\"dot\"/>"
            if value > 0 { body += text(cx(i) + barWidth / 2 + 3, y(value) + 4, String(value), "class=\"hv\"") }
        }
        return "<svg viewBox=\"0 0 \(f(width)) \(f(height))\" width=\"\(f(width))\" height=\"\(f(height))\" role=\"img\" "
            + "aria-label=\"Eight-week trend of incidents and casualties\">\(legend(left: left))\(body)</svg>"
    }

    /// The style sheet of the chart's classes (and of the digest's district bars, which share them):
    /// a page showing the chart carries it, inline or in its own style sheet.
    public static let css = """
        svg { max-width: 100%; height: auto; font: 12px system-ui, "Segoe UI", Roboto, Arial, sans-serif; fill: #1d2733; }
        svg .grid { stroke: #dde2e8; } svg .tick { font-size: 11px; fill: #5b6776; } svg .legend { font-size: 12px; }
        svg .seg, svg .val, svg .hv { font-size: 11px; font-weight: 700; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
        svg .total { font-weight: 700; } svg .hv { fill: #a61b1b; }
        svg .bar { fill: #8fa9cc; } svg .bar.now { fill: #1f3a5f; } svg .band { fill: #fff4cc; stroke: #d4a017; stroke-dasharray: 4 3; }
        svg .harm { fill: none; stroke: #a61b1b; stroke-width: 2.5; stroke-dasharray: 7 4; }
        svg .dot { fill: #fff; stroke: #a61b1b; stroke-width: 2; }

        """

    /// The key above the plot: a bar for incidents, the dashed line for killed + injured.
    static func legend(left: Double) -> String {
        "<rect x=\"\(f(left))\" y=\"4\" width=\"14\" height=\"12\" class=\"bar\"/>" + text(left + 20, 14, "Incidents")
            + "<line x1=\"\(f(left + 110))\" y1=\"10\" x2=\"\(f(left + 140))\" y2=\"10\" class=\"harm\"/><circle cx=\"\(f(left + 125))\" "
            + "cy=\"10\" r=\"4\" class=\"dot\"/>" + text(left + 148, 14, "Killed + injured")
    }

    static func f(_ value: Double) -> String { DigestRendering.f(value) }
    static func text(_ x: Double, _ y: Double, _ content: String, _ attributes: String = "") -> String {
        DigestRendering.text(x, y, content, attributes)
    }
}
