import Foundation

/// Rows laid out for a person: columns sized to their content and fitted to the terminal's width.
///
/// On a terminal too narrow for every column, the columns in `dropping` are left out, first to
/// last, until the rest fits with each free-text column (`flexible`) at its minimum (at most a
/// quarter of the terminal); then the free-text columns give way in their order, truncated with
/// `…`, until no line is wider than the terminal. `wide` shows every column in full. Without a
/// known width (`COLUMNS` unset, not a terminal), a column holds at most 60 characters.
struct Table {
    var titles: [String]
    var rows: [[String]]
    /// Free-text columns and their minimum widths, in the order they give way.
    var flexible: [(title: String, minimum: Int)] = []
    var dropping: [String] = []
    /// Columns shown only with `wide`.
    var wideOnly: Set<String> = []
    /// A shorter form of a column's cells, shown in every row when the column is too narrow for
    /// its content (a municipality's code without its name), truncated if need be.
    var shortForms: [String: (String) -> String] = [:]
    /// How a column's cells are painted on a terminal with colour (a status, a sensitivity).
    var styles: [String: (String) -> Terminal.Style?] = [:]

    /// A table whose every column is free text, the widest giving way first.
    static func plain(_ titles: [String], _ rows: [[String]], dropping: [String] = []) -> Table {
        var table = Table(titles: titles, rows: rows, dropping: dropping)
        table.flexible = titles.indices.sorted { table.contentWidth($0) > table.contentWidth($1) }.map { (titles[$0], 12) }
        return table
    }

    /// The lines of the table, header first, without trailing spaces.
    func lines(on terminal: Terminal, wide: Bool = false) -> [String] {
        let shown = wide ? Array(titles.indices) : visibleColumns(width: terminal.width).filter { !wideOnly.contains(titles[$0]) }
        let widths = fittedWidths(shown, width: wide ? nil : terminal.width, capped: !wide && terminal.width == nil)
        // A column too narrow for its content shows every cell in its short form, alike.
        var shortened: [Int: (String) -> String] = [:]
        for (column, width) in zip(shown, widths) where width < contentWidth(column) { shortened[column] = shortForms[titles[column]] }
        func line(_ cells: [String], header: Bool) -> String {
            var text = ""
            for (position, (column, width)) in zip(shown, widths).enumerated() {
                let cell = cells.indices.contains(column) ? cells[column] : ""
                let fitting = (header ? nil : shortened[column]?(cell)) ?? cell
                let clipped = fitting.count > width ? String(fitting.prefix(max(0, width - 1))) + "…" : fitting
                text += terminal.paint(clipped, header ? .bold : styles[titles[column]]?(cell))
                if position < shown.count - 1 { text += String(repeating: " ", count: max(0, width - clipped.count) + 2) }
            }
            while text.hasSuffix(" ") { text.removeLast() }
            return text
        }
        return [line(titles, header: true)] + rows.map { line($0, header: false) }
    }

    private func contentWidth(_ column: Int) -> Int {
        max(titles[column].count, rows.map { $0.indices.contains(column) ? $0[column].count : 0 }.max() ?? 0)
    }

    /// How narrow column `column` may become on a terminal `width` wide.
    private func floor(_ column: Int, width: Int) -> Int {
        guard let minimum = flexible.first(where: { $0.title == titles[column] })?.minimum else { return contentWidth(column) }
        return min(contentWidth(column), max(titles[column].count, min(minimum, width / 4)))
    }

    /// The columns that fit `width` with their free text at its minimum, in their order.
    private func visibleColumns(width: Int?) -> [Int] {
        var shown = titles.indices.filter { !wideOnly.contains(titles[$0]) }
        guard let width else { return shown }
        let least = { (columns: [Int]) in columns.map { floor($0, width: width) }.reduce(0, +) + 2 * (columns.count - 1) }
        for title in dropping where least(shown) > width {
            shown.removeAll { titles[$0] == title }
        }
        return shown
    }

    /// Each shown column's width: its content's, then the free text narrowed in its order until
    /// the line fits; as a last resort the widest of any. `capped`: at most 60 (no known width).
    private func fittedWidths(_ shown: [Int], width: Int?, capped: Bool) -> [Int] {
        var widths = shown.map { capped ? min(60, contentWidth($0)) : contentWidth($0) }
        guard let width else { return widths }
        var excess = widths.reduce(0, +) + 2 * (shown.count - 1) - width
        for free in flexible where excess > 0 {
            guard let position = shown.firstIndex(where: { titles[$0] == free.title }) else { continue }
            let give = min(excess, widths[position] - floor(shown[position], width: width))
            widths[position] -= max(0, give)
            excess -= max(0, give)
        }
        while excess > 0, let widest = widths.indices.filter({ widths[$0] > 1 }).max(by: { widths[$0] < widths[$1] }) {
            widths[widest] -= 1
            excess -= 1
        }
        return widths
    }
}
