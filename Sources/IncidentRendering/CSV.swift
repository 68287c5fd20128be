import Foundation

/// Cells and lines of every CSV and HXL output (ictl's lists, summaries, regions, tokens, the
/// outbox, the digest): one rule for spreadsheet safety and one for quoting, so no writer has its own.
public enum CSV {
    /// The first characters that make a spreadsheet read a cell as a formula (OWASP CSV
    /// injection; docs/cli.md, Output formats): such a cell is written with a leading `'`.
    public static let formulaStarts: Set<Unicode.Scalar> = ["=", "+", "-", "@", "\t", "\r"]

    /// `text` as one cell: neutralized when a spreadsheet would take it for a formula, then quoted
    /// (RFC 4180) when it holds a comma, a quote or a line break.
    ///
    /// Every cell, numbers included: the figures we write are never negative, so no number of
    /// ours is changed by it, and a "number" that came from outside is text like any other.
    public static func cell(_ text: String) -> String {
        // By scalar: "\r\n" is one Character, and it starts with a carriage return all the same.
        let safe = text.unicodeScalars.first.map(formulaStarts.contains) == true ? "'" + text : text
        guard safe.unicodeScalars.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) else { return safe }
        return "\"" + safe.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// One line of cells, without its line break.
    public static func line(_ cells: [String]) -> String { cells.map(cell).joined(separator: ",") }
}
