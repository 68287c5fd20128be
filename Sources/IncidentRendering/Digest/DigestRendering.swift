import Foundation

/// Renders a `DigestDocument` as `ictl digest --format markdown|html|csv` writes it, and as the
/// web console shows it: one rendering, so a digest reads the same wherever it is opened.
public enum DigestRendering {
    /// What the disclosure rule did to the figures, in words (nil when the server did not say).
    public static func disclosureLine(_ digest: DigestDocument) -> String? {
        guard let disclosure = digest.disclosure else { return nil }
        return disclosure.confidential == "exact"
            ? "exact figures, confidential incidents included"
            : "confidential incidents count only in district totals of a week and category holding at least \(disclosure.threshold) of them; "
                + "municipality figures leave them out"
    }

    /// Markdown for a programme manager: header with period, cut-off and sensitivity marking, then
    /// key figures, district × category counts, movers, notable incidents, revisions and the 8-week trend.
    public static func markdown(_ digest: DigestDocument) -> String {
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
    public static func html(_ digest: DigestDocument) -> String {
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
            case .trend where !digest.trend.isEmpty: out += trendFigure(digest)
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
    public static func csv(_ digest: DigestDocument) -> String {
        var lines = [
            CSV.line([
                "district", "district_name", "municipality", "municipality_name", "category", "incidents", "verified", "killed", "injured", "abducted", "displaced",
            ]),
            CSV.line([
                "#adm1+code", "#adm1+name", "#adm2+code", "#adm2+name", "#event+type", "#event+num", "#event+num+verified",
                "#affected+killed", "#affected+injured", "#affected+abducted", "#affected+displaced",
            ]),
        ]
        for r in digest.byRegion {
            let numbers = [r.incidents, r.verified, r.killed, r.injured, r.abducted, r.displaced].map(String.init)
            lines.append(CSV.line([r.district, r.districtName, r.municipality, r.municipalityName, r.category] + numbers))
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
