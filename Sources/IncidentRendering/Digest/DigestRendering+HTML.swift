import Foundation

// The pieces of the HTML page: tables, key-figure cards and the style sheet.
extension DigestRendering {
    static func htmlTable(_ table: Table) -> String {
        func cells(_ row: [String], tag: String) -> String {
            row.enumerated().map { column, cell in
                let content = tag == "th" ? "<span>\(esc(cell))</span>" : esc(cell)  // span: rotatable header text
                return "<\(tag)\(table.numeric.contains(column) ? " class=\"num\"" : "")>\(content)</\(tag)>"
            }.joined()
        }
        var out =
            "<table\(table.style.isEmpty ? "" : " class=\"\(table.style)\"")>\n"
            + "<thead><tr>\(cells(table.headers, tag: "th"))</tr></thead>\n<tbody>\n"
        for (index, row) in table.rows.enumerated() {
            out += "<tr\(table.emphasized.contains(index) ? " class=\"em\"" : "")>\(cells(row, tag: "td"))</tr>\n"
        }
        return out + "</tbody>\n</table>\n"
    }

    /// Key-figure cards: this week's value with arrows for the change against last week and the 4-week average.
    static func cards(_ d: DigestDocument) -> String {
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

    static let css = """

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
        \(TrendChart.css)footer { margin-top: 32px; border-top: 1px solid var(--rule); padding-top: 8px; font-size: 12px; }
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
