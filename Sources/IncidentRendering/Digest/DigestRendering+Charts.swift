import Foundation

// The SVG charts of the HTML page: the district bars here, the trend in ``TrendChart``.
extension DigestRendering {
    /// Axis maximum and tick step (1, 2 or 5 × 10ⁿ, at least 1) for counts up to `maximum`; never zero.
    static func niceScale(_ maximum: Double) -> (top: Double, step: Double) {
        guard maximum.isFinite, maximum > 0 else { return (4, 1) }
        let raw = maximum / 4, magnitude = pow(10, (log10(raw)).rounded(.down))
        let step = max(1, [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude)
        return ((maximum / step).rounded(.up) * step, step)
    }
    static func f(_ value: Double) -> String { String(format: "%.1f", value) }
    static func text(_ x: Double, _ y: Double, _ content: String, _ attributes: String = "") -> String {
        "<text x=\"\(f(x))\" y=\"\(f(y))\" \(attributes)>\(esc(content))</text>"
    }
    static func truncated(_ s: String, _ limit: Int) -> String { s.count > limit ? s.prefix(limit - 1) + "…" : s }

    /// The taxonomy's categories (migration 0003), so each keeps its colour from week to week.
    static let knownCategories = [
        "ethnic_violence", "trafficking", "return_obstacle", "access_security",
        "unrest", "explosives", "sexual_violence", "other",
    ]
    static let palette = [
        "#1f4e79", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00",
        "#7a5c00", "#6a3d9a", "#f0e442", "#0072b2", "#8c8c8c", "#b15928",
    ]
    /// Pattern overlays so categories stay distinguishable in grayscale print.
    static let overlays = [
        "",
        "<path d=\"M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4\" stroke=\"#fff\" stroke-width=\"1.5\" opacity=\".7\"/>",
        "<circle cx=\"4\" cy=\"4\" r=\"1.6\" fill=\"#fff\" opacity=\".8\"/>",
        "<path d=\"M0,4 H8 M4,0 V8\" stroke=\"#fff\" stroke-width=\"1.2\" opacity=\".7\"/>",
    ]

    /// Stacked horizontal bars (one per district, segments per category) with legend and value labels.
    static func districtChart(_ grid: Matrix) -> String {
        let width = 920.0, labelWidth = 190.0, plotWidth = 660.0, rowHeight = 30.0, top = 26.0
        let (axisTop, step) = niceScale(Double(grid.districts.map { grid.total(district: $0.code) }.max() ?? 0))
        let scale = plotWidth / axisTop, plotBottom = top + Double(grid.districts.count) * rowHeight
        let (defs, fill) = categoryPatterns(grid.categories)
        var body = ""
        for tick in stride(from: 0.0, through: axisTop + step / 2, by: step) {
            let x = labelWidth + tick * scale
            body +=
                "<line x1=\"\(f(x))\" y1=\"\(f(top - 4))\" x2=\"\(f(x))\" y2=\"\(f(plotBottom))\" class=\"grid\"/>"
                + text(x, top - 9, number(tick), "class=\"tick\" text-anchor=\"middle\"")
        }
        for (row, district) in grid.districts.enumerated() {
            body += districtBar(
                district, of: grid, y: top + Double(row) * rowHeight + 6, height: rowHeight - 12,
                left: labelWidth, scale: scale, fill: fill)
        }
        let (legend, legendBottom) = categoryLegend(grid, fill: fill, baseline: plotBottom + 22, width: width)
        let height = legendBottom + 12
        return "<figure><svg viewBox=\"0 0 \(f(width)) \(f(height))\" width=\"\(f(width))\" height=\"\(f(height))\" role=\"img\" "
            + "aria-label=\"Incidents by district, stacked by category\"><defs>\(defs)</defs>\(body)\(legend)</svg>\n"
            + "<figcaption>Incidents this week by district; segments show categories "
            + "(counts inside, district totals at bar ends).</figcaption></figure>\n"
    }

    /// One SVG pattern per category and the fill that names it. Stable styling per category: known
    /// codes keep their slot week to week; others follow.
    static func categoryPatterns(_ categories: [String]) -> (defs: String, fill: [String: String]) {
        var defs = "", unknown = knownCategories.count, fill: [String: String] = [:]
        for category in categories {
            let slot =
                knownCategories.firstIndex(of: category)
                ?? {
                    unknown += 1; return unknown - 1
                }()
            fill[category] = "url(#dg-\(slot))"
            defs +=
                "<pattern id=\"dg-\(slot)\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\">"
                + "<rect width=\"8\" height=\"8\" fill=\"\(palette[slot % palette.count])\"/>\(overlays[slot % overlays.count])</pattern>"
        }
        return (defs, fill)
    }

    /// A district's label, its bar of category segments (counts inside those wide enough) and its total.
    static func districtBar(
        _ district: (code: String, name: String), of grid: Matrix, y: Double, height barHeight: Double,
        left labelWidth: Double, scale: Double, fill: [String: String]
    ) -> String {
        var body = text(labelWidth - 8, y + barHeight / 2 + 4, truncated(district.name, 28), "text-anchor=\"end\"")
        var x = labelWidth
        for category in grid.categories {
            let count = grid.count(district.code, category), w = Double(count) * scale
            guard count > 0 else { continue }
            body +=
                "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(w))\" height=\"\(f(barHeight))\""
                + " fill=\"\(fill[category] ?? "#999")\" stroke=\"#fff\" stroke-width=\"1\">"
                + "<title>\(esc(district.name)): \(esc(humanize(category))) \(count)</title></rect>"
            if w >= 18 { body += text(x + w / 2, y + barHeight / 2 + 4, String(count), "class=\"seg\" text-anchor=\"middle\"") }
            x += w
        }
        return body + text(x + 6, y + barHeight / 2 + 4, String(grid.total(district: district.code)), "class=\"total\"")
    }

    /// The legend under the bars, wrapped to `width`: its SVG and the baseline of its last line.
    static func categoryLegend(_ grid: Matrix, fill: [String: String], baseline: Double, width: Double) -> (svg: String, baseline: Double) {
        var legend = ""
        var (lx, ly) = (0.0, baseline)
        for category in grid.categories {
            let label = "\(humanize(category)) (\(grid.total(category: category)))"
            let itemWidth = 26 + Double(label.count) * 6.6
            if lx > 0, lx + itemWidth > width { (lx, ly) = (0, ly + 20) }
            legend +=
                "<rect x=\"\(f(lx))\" y=\"\(f(ly - 11))\" width=\"14\" height=\"14\" fill=\"\(fill[category] ?? "#999")\""
                + " stroke=\"#333\" stroke-width=\".5\"/>"
                + text(lx + 19, ly, label, "class=\"legend\"")
            lx += itemWidth + 12
        }
        return (legend, ly)
    }

    /// The eight-week trend chart with its caption; the digest's week is highlighted.
    static func trendFigure(_ d: DigestDocument) -> String {
        "<figure>" + TrendChart.svg(points: d.trend, highlighting: d.week) + "\n"
            + "<figcaption>Incidents per ISO week (bars) and people killed or injured (dashed line); "
            + "\(esc(d.week)) highlighted.</figcaption></figure>\n"
    }
}
