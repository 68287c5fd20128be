import Foundation

/// Renders a `DigestDocument` for `ictl digest --format markdown|html|csv`.
enum DigestRendering {
    /// What the disclosure rule did to the figures, in words (nil when the server did not say).
    static func disclosureLine(_ digest: DigestDocument) -> String? {
        guard let disclosure = digest.disclosure else { return nil }
        return disclosure.confidential == "exact"
            ? "exact figures, confidential incidents included"
            : "confidential incidents count only in district totals of a week and category holding at least \(disclosure.threshold) of them; "
                + "municipality figures leave them out"
    }

    /// Markdown for a programme manager: header with period, cut-off and sensitivity marking, then
    /// key figures, district × category counts, movers, notable incidents, revisions and the 8-week trend.
    static func markdown(_ digest: DigestDocument) -> String {
        var out = "# Weekly incident digest — \(digest.week)\n\n"
        out += "**Period:** \(periodLine(digest))  \n**Data cut-off:** \(cutoffLine(digest))  \n"
        out += "**Sensitivity:** \(mdText(digest.sensitivity))  \n"
        if let line = disclosureLine(digest) { out += "**Disclosure:** \(mdText(line))\n" }
        for section in sections(digest, matrix(digest)) {
            out += "\n## \(section.title)\n\n"
            guard !section.table.rows.isEmpty else { out += section.empty + "\n"; continue }
            let table = section.table
            func line(_ cells: [String], bold: Bool) -> String {
                "| " + cells.map { bold && !$0.isEmpty ? "**\(mdText($0))**" : mdText($0) }.joined(separator: " | ") + " |\n"
            }
            out += line(table.headers, bold: false)
            out += "|" + table.headers.indices.map { table.numeric.contains($0) ? "---:|" : "---|" }.joined() + "\n"
            for (index, row) in table.rows.enumerated() { out += line(row, bold: table.emphasized.contains(index)) }
            if let note = section.note { out += "\n" + mdText(note) + "\n" }
        }
        return out
    }

    /// One self-contained HTML5 page (inline CSS and SVG; no scripts, no external references)
    /// with key-figure cards, a stacked bar chart by district and category, and the 8-week trend chart.
    /// Prints on A4 with the sensitivity marking in the page header.
    static func html(_ digest: DigestDocument) -> String {
        let title = "Weekly incident digest — \(digest.week)"
        let grid = matrix(digest)
        var out = """
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(esc(title))</title>
            <style>\(css)@page { size: A4; margin: 16mm 14mm; @top-center { content: \(cssString(digest.sensitivity)); \
            font: 600 8pt sans-serif; color: #000; } @bottom-right { content: counter(page); font: 8pt sans-serif; } }
            </style>
            </head>
            <body>
            <div class="marking">\(esc(digest.sensitivity))</div>
            <header><h1>\(esc(title))</h1>
            <p class="meta"><b>Period:</b> \(esc(periodLine(digest)))<br><b>Data cut-off:</b> \(esc(cutoffLine(digest)))\
            \(disclosureLine(digest).map { "<br><b>Disclosure:</b> " + esc($0) } ?? "")</p></header>\n
            """
        for section in sections(digest, grid) {
            out += "<section>\n<h2>\(esc(section.title))</h2>\n"
            switch section.kind {
            case .keyFigures: out += cards(digest)
            case .districts where !grid.districts.isEmpty: out += districtChart(grid)
            case .trend where !digest.trend.isEmpty: out += trendChart(digest)
            default: break
            }
            if section.kind != .keyFigures {
                out += section.table.rows.isEmpty ? "<p class=\"empty\">\(esc(section.empty))</p>\n" : htmlTable(section.table)
            }
            if let note = section.note { out += "<p class=\"note\">\(esc(note))</p>\n" }
            out += "</section>\n"
        }
        out += "<footer>\(esc(digest.sensitivity)) · \(esc(title)) · generated \(esc(timestamp(digest.generatedAt)))</footer>\n"
        return out + "</body>\n</html>\n"
    }

    /// CSV of `by_region` (one row per municipality and category) with an HXL hashtag row as line 2.
    /// Cells written by ``CSV/cell(_:)`` (quoting, spreadsheet safety); every line ends with "\n".
    static func csv(_ digest: DigestDocument) -> String {
        var lines = [
            CSV.line(["district", "district_name", "municipality", "municipality_name", "category", "incidents", "verified", "killed", "injured", "abducted", "displaced"]),
            CSV.line(["#adm1+code", "#adm1+name", "#adm2+code", "#adm2+name", "#event+type", "#event+num", "#event+num+verified",
                      "#affected+killed", "#affected+injured", "#affected+abducted", "#affected+displaced"]),
        ]
        for r in digest.byRegion {
            let numbers = [r.incidents, r.verified, r.killed, r.injured, r.abducted, r.displaced].map(String.init)
            lines.append(CSV.line([r.district, r.districtName, r.municipality, r.municipalityName, r.category] + numbers))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: - Shared content

    private static let figureNames = ["Incidents", "Verified", "Killed", "Injured", "Abducted", "Displaced"]
    private static let revisionLimit = 50

    /// A table both renderers can draw; cells are plain text, escaped by the renderer.
    private struct Table {
        var headers: [String], rows: [[String]], numeric: Set<Int>, emphasized: Set<Int> = []
        /// CSS class of the HTML table ("matrix", "dense" rotates column headers, "compact" uses smaller type).
        var style = ""
    }
    private struct Section {
        enum Kind { case keyFigures, districts, movers, notable, revisions, trend }
        let kind: Kind, title: String, table: Table, empty: String
        var note: String? = nil
    }
    /// Incident counts by district (rows, in data order) and category (columns, most frequent first).
    private struct Matrix {
        var districts: [(code: String, name: String)] = [], categories: [String] = []
        var cells: [String: [String: Int]] = [:]
        func count(_ district: String, _ category: String) -> Int { cells[district]?[category] ?? 0 }
        func total(district: String) -> Int { cells[district]?.values.reduce(0, +) ?? 0 }
        func total(category: String) -> Int { cells.values.reduce(0) { $0 + ($1[category] ?? 0) } }
    }

    private static func matrix(_ digest: DigestDocument) -> Matrix {
        var grid = Matrix(), categoryTotals: [String: Int] = [:]
        for row in digest.byRegion {
            if !grid.districts.contains(where: { $0.code == row.district }) { grid.districts.append((row.district, row.districtName)) }
            grid.cells[row.district, default: [:]][row.category, default: 0] += row.incidents
            categoryTotals[row.category, default: 0] += row.incidents
        }
        grid.categories = categoryTotals.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map(\.key)
        return grid
    }

    private static func sections(_ d: DigestDocument, _ grid: Matrix) -> [Section] {
        let (now, before, average) = (d.totals.ordered, d.previousWeek.ordered, d.fourWeekAverage.ordered)
        let (vsBefore, vsAverage) = (d.changes.vsPreviousWeek.ordered, d.changes.vsFourWeekAverage.ordered)
        let keyRows = figureNames.indices.map {
            [figureNames[$0], number(now[$0]), number(before[$0]), signed(vsBefore[$0]), number(average[$0]), signed(vsAverage[$0])]
        }
        var districtRows = grid.districts.map { district in
            [district.name] + grid.categories.map { dash(grid.count(district.code, $0)) } + [String(grid.total(district: district.code))]
        }
        districtRows.append(["Total"] + grid.categories.map { String(grid.total(category: $0)) }
            + [String(grid.districts.reduce(0) { $0 + grid.total(district: $1.code) })])
        let districtNames = Dictionary(d.byRegion.map { ($0.district, $0.districtName) }) { first, _ in first }
        let municipalityNames = Dictionary(d.byRegion.map { ($0.municipality, $0.municipalityName) }
            + d.notable.map { ($0.municipality, $0.municipalityName) } + d.movers.map { ($0.municipality, $0.name) }) { a, _ in a }
        let movers = d.movers.map {
            [$0.name, districtNames[$0.district] ?? $0.district, String($0.incidents), String($0.previousWeek), signed(Double($0.change))]
        }
        let notable = d.notable.map { n in
            [shortDay(n.occurredDay, withYear: false), n.municipalityName,
             humanize(n.category) + (n.subcategory.map { " / " + humanize($0) } ?? ""), humanize(n.status),
             casualties([(n.killed, "killed"), (n.injured, "injured"), (n.abducted, "abducted"), (n.displaced, "displaced")]),
             n.summary]
        }
        let revisions = d.revisions.prefix(revisionLimit).map { r in
            let detail = r.fields.map { "Fields: " + $0.joined(separator: ", ") } ?? r.reason.map { "Reason: " + $0 } ?? ""
            let recorded = shortDay(String(r.recordedAt.prefix(10)), withYear: false) + "\u{A0}" + r.recordedAt.dropFirst(11).prefix(5)
            return [recorded, String(r.incidentID.prefix(8)), humanize(r.change), shortDay(r.occurredDay, withYear: true),
                    municipalityNames[r.municipality] ?? r.municipality, humanize(r.category), detail]
        }
        let hidden = d.revisions.count - revisions.count
        let current = d.trend.lastIndex { $0.week == d.week } ?? d.trend.count - 1
        let trend = d.trend.map {
            [$0.week, shortDay($0.from, withYear: true), String($0.incidents), String($0.killed), String($0.injured)]
        }
        return [
            Section(kind: .keyFigures, title: "Key figures", table: Table(headers: ["Figure", "This week", "Previous week",
                    "Change", "4-week average", "Change vs average"], rows: keyRows, numeric: [1, 2, 3, 4, 5]), empty: ""),
            Section(kind: .districts, title: "Incidents by district and category",
                    table: Table(headers: ["District"] + grid.categories.map(humanize) + ["Total"],
                                 rows: grid.districts.isEmpty ? [] : districtRows,
                                 numeric: Set(1...(grid.categories.count + 1)), emphasized: [grid.districts.count],
                                 style: grid.categories.count > 5 ? "matrix dense" : "matrix"),
                    empty: "No incidents recorded this week."),
            Section(kind: .movers, title: "Top-moving municipalities", table: Table(headers: ["Municipality", "District",
                    "This week", "Previous week", "Change"], rows: movers, numeric: [2, 3, 4]), empty: "None this week."),
            Section(kind: .notable, title: "Notable incidents", table: Table(headers: ["Day", "Municipality", "Category",
                    "Status", "Casualties", "Summary"], rows: notable, numeric: []), empty: "None this week."),
            Section(kind: .revisions, title: "Revisions since the previous digest", table: Table(headers: ["Recorded (UTC)",
                    "Incident", "Change", "Occurred", "Municipality", "Category", "Details"], rows: revisions, numeric: [],
                    style: "compact"),
                    empty: "None.", note: hidden > 0 ? "… and \(hidden) more." : nil),
            Section(kind: .trend, title: "8-week trend", table: Table(headers: ["Week", "From", "Incidents", "Killed",
                    "Injured"], rows: trend, numeric: [2, 3, 4], emphasized: [current]), empty: "No trend data."),
        ]
    }

    // MARK: - Text formatting

    private static let months = ["January", "February", "March", "April", "May", "June", "July",
                                 "August", "September", "October", "November", "December"]

    /// Splits an ISO date ("2026-11-16") into year, month and day.
    private static func parseDay(_ iso: String) -> (year: Int, month: String, day: Int)? {
        let parts = iso.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, (1...12).contains(parts[1]) else { return nil }
        return (parts[0], months[parts[1] - 1], parts[2])
    }
    private static func periodLine(_ d: DigestDocument) -> String {
        guard let a = parseDay(d.from), let b = parseDay(d.to) else { return "\(d.week) (\(d.from) – \(d.to))" }
        let range = a.year != b.year ? "\(a.day) \(a.month) \(a.year) – \(b.day) \(b.month) \(b.year)"
            : a.month != b.month ? "\(a.day) \(a.month) – \(b.day) \(b.month) \(b.year)" : "\(a.day)–\(b.day) \(b.month) \(b.year)"
        return "ISO week \(d.week), \(range)"
    }
    private static func cutoffLine(_ d: DigestDocument) -> String {
        "figures include the log up to position \(d.asOf); generated \(timestamp(d.generatedAt))"
    }
    private static func shortDay(_ iso: String, withYear: Bool) -> String {
        guard let p = parseDay(iso) else { return iso }
        return "\(p.day)\u{A0}\(p.month.prefix(3))" + (withYear ? "\u{A0}\(p.year)" : "")  // no-break spaces
    }
    /// "2026-11-30T01:10:00Z" → "2026-11-30 01:10 UTC"; anything else is shown as given.
    private static func timestamp(_ iso: String) -> String {
        guard iso.count == 20, iso.hasSuffix(":00Z") else { return iso }
        return iso.prefix(16).replacingOccurrences(of: "T", with: " ") + " UTC"
    }
    /// "inter_ethnic_violence" → "Inter ethnic violence".
    private static func humanize(_ code: String) -> String {
        let words = code.replacingOccurrences(of: "_", with: " ")
        return words.prefix(1).uppercased() + words.dropFirst()
    }
    /// Up to two decimals, trailing zeros dropped; "–" for values that are not finite.
    private static func number(_ value: Double) -> String {
        guard value.isFinite else { return "–" }
        let rounded = (value * 100).rounded() / 100
        if rounded == 0 { return "0" }
        if rounded == rounded.rounded(), abs(rounded) < 1e15 { return String(Int(rounded)) }
        var text = String(format: "%.2f", rounded)
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }
    /// "+3", "−2" (true minus sign), "0".
    private static func signed(_ value: Double) -> String {
        let text = number(abs(value))
        return text == "0" || text == "–" ? text : (value > 0 ? "+" : "−") + text
    }
    private static func dash(_ count: Int) -> String { count == 0 ? "–" : String(count) }
    private static func casualties(_ items: [(Int, String)]) -> String {
        let parts = items.filter { $0.0 != 0 }.map { "\($0.0) \($0.1)" }
        return parts.isEmpty ? "None" : parts.joined(separator: ", ")
    }

    // MARK: - Escaping

    /// Markdown table-safe text: `|` and `<` backslash-escaped, line breaks flattened to spaces.
    private static func mdText(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "|", "<": out += "\\" + String(scalar)
            case "\n", "\r": out += " "
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
    /// HTML-escapes text; "://" is written as ":&#47;&#47;" so free text can never form a live URL.
    private static func esc(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "/" where out.hasSuffix(":") || out.hasSuffix(":&#47;"): out += "&#47;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
    /// A quoted CSS string; everything but letters, digits, spaces and harmless punctuation is hex-escaped.
    private static func cssString(_ text: String) -> String {
        let plain = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: " .,;-_()"))
        let body = text.unicodeScalars.map {
            plain.contains($0) && ($0.isASCII || $0.properties.isAlphabetic) ? String($0) : String(format: "\\%06X ", $0.value)
        }
        return "\"" + body.joined() + "\""
    }

    // MARK: - HTML pieces

    private static func htmlTable(_ table: Table) -> String {
        func cells(_ row: [String], tag: String) -> String {
            row.enumerated().map { column, cell in
                let content = tag == "th" ? "<span>\(esc(cell))</span>" : esc(cell)  // span: rotatable header text
                return "<\(tag)\(table.numeric.contains(column) ? " class=\"num\"" : "")>\(content)</\(tag)>"
            }.joined()
        }
        var out = "<table\(table.style.isEmpty ? "" : " class=\"\(table.style)\"")>\n"
            + "<thead><tr>\(cells(table.headers, tag: "th"))</tr></thead>\n<tbody>\n"
        for (index, row) in table.rows.enumerated() {
            out += "<tr\(table.emphasized.contains(index) ? " class=\"em\"" : "")>\(cells(row, tag: "td"))</tr>\n"
        }
        return out + "</tbody>\n</table>\n"
    }

    /// Key-figure cards: this week's value with arrows for the change against last week and the 4-week average.
    private static func cards(_ d: DigestDocument) -> String {
        let (now, before, average) = (d.totals.ordered, d.previousWeek.ordered, d.fourWeekAverage.ordered)
        let (vsBefore, vsAverage) = (d.changes.vsPreviousWeek.ordered, d.changes.vsFourWeekAverage.ordered)
        func delta(_ change: Double, _ base: Double, _ label: String, neutral: Bool) -> String {
            let text = signed(change)
            let (arrow, tone) = text == "0" || text == "–" ? ("■", "flat") : change > 0 ? ("▲", "up") : ("▼", "down")
            return "<div class=\"delta \(neutral ? "flat" : tone)\">\(arrow) \(text) <span>vs \(label) (\(number(base)))</span></div>"
        }
        let items = figureNames.indices.map { i in
            "<div class=\"card\"><div class=\"label\">\(figureNames[i])</div><div class=\"value\">\(number(now[i]))</div>"
                + delta(vsBefore[i], before[i], "previous week", neutral: i == 1)
                + delta(vsAverage[i], average[i], "4-week average", neutral: i == 1) + "</div>"
        }
        return "<div class=\"cards\">\n" + items.joined(separator: "\n") + "\n</div>\n"
    }

    /// Axis maximum and tick step (1, 2 or 5 × 10ⁿ, at least 1) for counts up to `maximum`; never zero.
    private static func niceScale(_ maximum: Double) -> (top: Double, step: Double) {
        guard maximum.isFinite, maximum > 0 else { return (4, 1) }
        let raw = maximum / 4, magnitude = pow(10, (log10(raw)).rounded(.down))
        let step = max(1, [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude)
        return ((maximum / step).rounded(.up) * step, step)
    }
    private static func f(_ value: Double) -> String { String(format: "%.1f", value) }
    private static func text(_ x: Double, _ y: Double, _ content: String, _ attributes: String = "") -> String {
        "<text x=\"\(f(x))\" y=\"\(f(y))\" \(attributes)>\(esc(content))</text>"
    }
    private static func truncated(_ s: String, _ limit: Int) -> String { s.count > limit ? s.prefix(limit - 1) + "…" : s }

    /// The taxonomy's categories (migration 0003), so each keeps its colour from week to week.
    private static let knownCategories = ["ethnic_violence", "trafficking", "return_obstacle", "access_security",
        "unrest", "explosives", "sexual_violence", "other"]
    private static let palette = ["#1f4e79", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00",
                                  "#7a5c00", "#6a3d9a", "#f0e442", "#0072b2", "#8c8c8c", "#b15928"]
    /// Pattern overlays so categories stay distinguishable in grayscale print.
    private static let overlays = ["",
        "<path d=\"M-2,2 l4,-4 M0,8 l8,-8 M6,10 l4,-4\" stroke=\"#fff\" stroke-width=\"1.5\" opacity=\".7\"/>",
        "<circle cx=\"4\" cy=\"4\" r=\"1.6\" fill=\"#fff\" opacity=\".8\"/>",
        "<path d=\"M0,4 H8 M4,0 V8\" stroke=\"#fff\" stroke-width=\"1.2\" opacity=\".7\"/>"]

    /// Stacked horizontal bars (one per district, segments per category) with legend and value labels.
    private static func districtChart(_ grid: Matrix) -> String {
        let width = 920.0, labelWidth = 190.0, plotWidth = 660.0, rowHeight = 30.0, top = 26.0
        let (axisTop, step) = niceScale(Double(grid.districts.map { grid.total(district: $0.code) }.max() ?? 0))
        let scale = plotWidth / axisTop, plotBottom = top + Double(grid.districts.count) * rowHeight
        var defs = "", body = "", legend = ""
        // Stable styling per category: known codes keep their slot week to week; others follow.
        var unknown = knownCategories.count, fill: [String: String] = [:]
        for category in grid.categories {
            let slot = knownCategories.firstIndex(of: category) ?? { unknown += 1; return unknown - 1 }()
            fill[category] = "url(#dg-\(slot))"
            defs += "<pattern id=\"dg-\(slot)\" width=\"8\" height=\"8\" patternUnits=\"userSpaceOnUse\">"
                + "<rect width=\"8\" height=\"8\" fill=\"\(palette[slot % palette.count])\"/>\(overlays[slot % overlays.count])</pattern>"
        }
        for tick in stride(from: 0.0, through: axisTop + step / 2, by: step) {
            let x = labelWidth + tick * scale
            body += "<line x1=\"\(f(x))\" y1=\"\(f(top - 4))\" x2=\"\(f(x))\" y2=\"\(f(plotBottom))\" class=\"grid\"/>"
                + text(x, top - 9, number(tick), "class=\"tick\" text-anchor=\"middle\"")
        }
        for (row, district) in grid.districts.enumerated() {
            let y = top + Double(row) * rowHeight + 6, barHeight = rowHeight - 12
            body += text(labelWidth - 8, y + barHeight / 2 + 4, truncated(district.name, 28), "text-anchor=\"end\"")
            var x = labelWidth
            for category in grid.categories {
                let count = grid.count(district.code, category), w = Double(count) * scale
                guard count > 0 else { continue }
                body += "<rect x=\"\(f(x))\" y=\"\(f(y))\" width=\"\(f(w))\" height=\"\(f(barHeight))\""
                    + " fill=\"\(fill[category] ?? "#999")\" stroke=\"#fff\" stroke-width=\"1\">"
                    + "<title>\(esc(district.name)): \(esc(humanize(category))) \(count)</title></rect>"
                if w >= 18 { body += text(x + w / 2, y + barHeight / 2 + 4, String(count), "class=\"seg\" text-anchor=\"middle\"") }
                x += w
            }
            body += text(x + 6, y + barHeight / 2 + 4, String(grid.total(district: district.code)), "class=\"total\"")
        }
        var (lx, ly) = (0.0, plotBottom + 22)
        for category in grid.categories {
            let label = "\(humanize(category)) (\(grid.total(category: category)))"
            let itemWidth = 26 + Double(label.count) * 6.6
            if lx > 0, lx + itemWidth > width { (lx, ly) = (0, ly + 20) }
            legend += "<rect x=\"\(f(lx))\" y=\"\(f(ly - 11))\" width=\"14\" height=\"14\" fill=\"\(fill[category] ?? "#999")\""
                + " stroke=\"#333\" stroke-width=\".5\"/>"
                + text(lx + 19, ly, label, "class=\"legend\"")
            lx += itemWidth + 12
        }
        let height = ly + 12
        return "<figure><svg viewBox=\"0 0 \(f(width)) \(f(height))\" width=\"\(f(width))\" height=\"\(f(height))\" role=\"img\" "
            + "aria-label=\"Incidents by district, stacked by category\"><defs>\(defs)</defs>\(body)\(legend)</svg>\n"
            + "<figcaption>Incidents this week by district; segments show categories "
            + "(counts inside, district totals at bar ends).</figcaption></figure>\n"
    }

    /// Eight-week trend: incidents as bars, killed + injured as a dashed line; the digest's week is highlighted.
    private static func trendChart(_ d: DigestDocument) -> String {
        let width = 920.0, height = 280.0, left = 44.0, right = 16.0, top = 46.0, bottom = 50.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let harm = d.trend.map { $0.killed + $0.injured }
        let (axisTop, step) = niceScale(Double(max(d.trend.map(\.incidents).max() ?? 0, harm.max() ?? 0)))
        let slot = plotWidth / Double(d.trend.count), barWidth = min(44, slot * 0.5)
        let current = d.trend.lastIndex { $0.week == d.week } ?? d.trend.count - 1
        func y(_ value: Int) -> Double { top + plotHeight - Double(value) / axisTop * plotHeight }
        func cx(_ index: Int) -> Double { left + (Double(index) + 0.5) * slot }
        var body = "<rect x=\"\(f(cx(current) - slot / 2 + 3))\" y=\"\(f(top - 16))\" width=\"\(f(slot - 6))\" "
            + "height=\"\(f(plotHeight + 56))\" class=\"band\"/>"
            + text(cx(current), top - 5, "this week", "class=\"tick\" text-anchor=\"middle\"")
        for tick in stride(from: 0.0, through: axisTop + step / 2, by: step) {
            let ty = top + plotHeight - tick / axisTop * plotHeight
            body += "<line x1=\"\(f(left))\" y1=\"\(f(ty))\" x2=\"\(f(width - right))\" y2=\"\(f(ty))\" class=\"grid\"/>"
                + text(left - 6, ty + 4, number(tick), "class=\"tick\" text-anchor=\"end\"")
        }
        for (i, point) in d.trend.enumerated() {
            let barTop = y(point.incidents), isCurrent = i == current
            body += "<rect x=\"\(f(cx(i) - barWidth / 2))\" y=\"\(f(barTop))\" width=\"\(f(barWidth))\" "
                + "height=\"\(f(top + plotHeight - barTop))\" class=\"\(isCurrent ? "bar now" : "bar")\"/>"
            if point.incidents > 0 { body += text(cx(i), barTop - 5, String(point.incidents), "class=\"val\" text-anchor=\"middle\"") }
            let week = point.week.split(separator: "-").last.map(String.init) ?? point.week
            body += text(cx(i), top + plotHeight + 17, week, "text-anchor=\"middle\"\(isCurrent ? " font-weight=\"700\"" : "")")
                + text(cx(i), top + plotHeight + 32, shortDay(point.from, withYear: false), "class=\"tick\" text-anchor=\"middle\"")
        }
        let line = harm.enumerated().map { "\(f(cx($0.offset))),\(f(y($0.element)))" }.joined(separator: " ")
        body += "<polyline points=\"\(line)\" class=\"harm\"/>"
        for (i, value) in harm.enumerated() {
            body += "<circle cx=\"\(f(cx(i)))\" cy=\"\(f(y(value)))\" r=\"4\" class=\"dot\"/>"
            if value > 0 { body += text(cx(i) + barWidth / 2 + 3, y(value) + 4, String(value), "class=\"hv\"") }
        }
        let legend = "<rect x=\"\(f(left))\" y=\"4\" width=\"14\" height=\"12\" class=\"bar\"/>" + text(left + 20, 14, "Incidents")
            + "<line x1=\"\(f(left + 110))\" y1=\"10\" x2=\"\(f(left + 140))\" y2=\"10\" class=\"harm\"/><circle cx=\"\(f(left + 125))\" "
            + "cy=\"10\" r=\"4\" class=\"dot\"/>" + text(left + 148, 14, "Killed + injured")
        return "<figure><svg viewBox=\"0 0 \(f(width)) \(f(height))\" width=\"\(f(width))\" height=\"\(f(height))\" role=\"img\" "
            + "aria-label=\"Eight-week trend of incidents and casualties\">\(legend)\(body)</svg>\n"
            + "<figcaption>Incidents per ISO week (bars) and people killed or injured (dashed line); "
            + "\(esc(d.week)) highlighted.</figcaption></figure>\n"
    }

    private static let css = """

        :root { --ink: #1d2733; --muted: #5b6776; --rule: #d5dbe3; --accent: #1f3a5f; }
        * { box-sizing: border-box; }
        body { font: 14px/1.45 system-ui, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink);
               max-width: 1000px; margin: 0 auto; padding: 20px 32px 40px; }
        .marking { border: 2px solid #8b1a1a; color: #8b1a1a; font-weight: 700; text-align: center; padding: 6px 10px; }
        h1 { font-size: 26px; margin: 18px 0 6px; }
        h2 { font-size: 18px; margin: 30px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--accent); }
        .meta, figcaption, .note, .empty, footer { color: var(--muted); }
        .empty { font-style: italic; }
        .cards { display: grid; grid-template-columns: repeat(3, 1fr); gap: 12px; }
        .card { border: 1px solid var(--rule); border-left: 5px solid var(--accent); border-radius: 6px; padding: 10px 14px; }
        .card .label { font-size: 12px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); }
        .card .value { font-size: 30px; font-weight: 700; line-height: 1.2; }
        .delta { font-size: 13px; font-weight: 600; } .delta span { font-weight: 400; color: var(--muted); }
        .up { color: #a61b1b; } .down { color: #1b6e3a; } .flat { color: var(--muted); }
        table { border-collapse: collapse; width: 100%; font-size: 13px; margin: 8px 0; }
        th, td { border-bottom: 1px solid var(--rule); padding: 5px 8px; text-align: left; vertical-align: top; }
        th { background: #eef2f7; border-bottom: 2px solid #9aa6b5; font-weight: 600; }
        .num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
        tr.em td { font-weight: 700; border-top: 2px solid #9aa6b5; }
        table.compact { font-size: 12px; } table.compact td, table.compact th { padding: 3px 6px; }
        table.matrix td:first-child { white-space: nowrap; }
        table.dense th { vertical-align: bottom; } table.dense td.num:not(:last-child) { text-align: center; }
        table.dense th:not(:first-child):not(:last-child) { text-align: center; padding: 6px 4px; }
        table.dense th:not(:first-child):not(:last-child) span { writing-mode: vertical-rl; transform: rotate(180deg);
          white-space: nowrap; }
        figure { margin: 10px 0 12px; } figcaption { font-size: 12px; }
        svg { max-width: 100%; height: auto; font: 12px system-ui, "Segoe UI", Roboto, Arial, sans-serif; fill: #1d2733; }
        svg .grid { stroke: #dde2e8; } svg .tick { font-size: 11px; fill: #5b6776; } svg .legend { font-size: 12px; }
        svg .seg, svg .val, svg .hv { font-size: 11px; font-weight: 700; paint-order: stroke; stroke: #fff; stroke-width: 3px; }
        svg .total { font-weight: 700; } svg .hv { fill: #a61b1b; }
        svg .bar { fill: #8fa9cc; } svg .bar.now { fill: #1f3a5f; } svg .band { fill: #fff4cc; stroke: #d4a017; stroke-dasharray: 4 3; }
        svg .harm { fill: none; stroke: #a61b1b; stroke-width: 2.5; stroke-dasharray: 7 4; }
        svg .dot { fill: #fff; stroke: #a61b1b; stroke-width: 2; }
        footer { margin-top: 32px; border-top: 1px solid var(--rule); padding-top: 8px; font-size: 12px; }
        @media print {
          body { max-width: none; padding: 0; color: #000; font-size: 10.5pt; }
          .marking, .card { color: #000; border-color: #000; }
          .meta, figcaption, .note, .empty, footer, .delta span, .card .label, .up, .down, .flat { color: #000; }
          th { background: none; }
          table, figure, .card, tr { page-break-inside: avoid; break-inside: avoid; }
          h2 { page-break-after: avoid; break-after: avoid; }
        }

        """
}
