import ArgumentParser
import Foundation
import IncidentRendering

/// Prints rows as a table for a person, CSV, or the daemon's JSON.
enum Output {
    /// Prints `json`, or the rows in the format asked for; `table` lays the rows out for the
    /// terminal (all columns free text when no ``Table`` is given).
    static func emit(_ output: FormatOption, json: Any, columns: [String], rows: [[String]], hxl: [String]? = nil, table: Table? = nil) {
        let format = output.resolved
        let lines =
            format == .table
            ? (table ?? Table.plain(columns, rows)).lines(on: output.terminal, wide: output.wide)
            : lines(format, json: json, columns: columns, rows: rows, hxl: hxl)
        for line in lines { print(line) }
    }

    /// The lines ``emit(_:json:columns:rows:hxl:table:)`` prints, each without its line break: for
    /// `json`, one line (laid out by ``JSONLayout``, so it holds line breaks of its own); for `hxl`,
    /// a row of hashtags under the header (`hxl`, or `#meta` for each column); for `table`, as on an
    /// output of unknown width.
    static func lines(_ format: OutputFormat, json: Any, columns: [String], rows: [[String]], hxl: [String]? = nil) -> [String] {
        switch format {
        case .hxl:
            return [CSV.line(columns), CSV.line(hxl ?? columns.map { _ in "#meta" })] + rows.map(CSV.line)
        case .json:
            return [JSONLayout.text(json)]
        case .csv:
            return [CSV.line(columns)] + rows.map(CSV.line)
        case .table:
            return Table.plain(columns, rows).lines(on: Terminal(width: nil, colour: false))
        }
    }

    static func string(_ value: Any?) -> String {
        switch value {
        case nil, is NSNull: ""
        case let text as String: text
        case let number as NSNumber: number.stringValue
        default: "\(value!)"
        }
    }

    /// A value as people write it: a whole number without `.0`, a fraction with at most 6
    /// decimals, a list as its items separated by commas, nothing as `—`.
    static func readable(_ value: Any?) -> String {
        switch value {
        case nil, is NSNull: return "—"
        case let text as String: return text.isEmpty ? "—" : text
        case let list as [Any]: return list.isEmpty ? "—" : list.map { readable($0) }.joined(separator: ", ")
        case let object as [String: Any]: return object.isEmpty ? "—" : object.keys.sorted().map { "\($0): \(readable(object[$0]))" }.joined(separator: ", ")
        case let number as NSNumber:
            if String(cString: number.objCType) == "c" { return number.boolValue ? "yes" : "no" }
            let double = number.doubleValue
            if double.rounded() == double, abs(double) < 1e15 { return String(Int64(double)) }
            var text = String(format: "%.6f", double)
            while text.hasSuffix("0") { text.removeLast() }
            return text
        default: return "\(value!)"
        }
    }

    /// `text` broken into lines of at most `width` characters at spaces (a longer word stands on
    /// its own line), each after `indent`; the text's own line breaks are kept.
    static func wrap(_ text: String, width: Int?, indent: String) -> [String] {
        let room = max(20, (width ?? Int.max) - indent.count)
        return text.split(separator: "\n", omittingEmptySubsequences: false).flatMap { paragraph -> [String] in
            var lines: [String] = [], line = ""
            for word in paragraph.split(separator: " ") {
                if !line.isEmpty && line.count + 1 + word.count > room {
                    lines.append(line)
                    line = ""
                }
                line += (line.isEmpty ? "" : " ") + word
            }
            return lines + [line]
        }.map { indent + $0 }
    }

    /// A labelled line of a record's section (``IncidentCard``, ``SubscriptionCard``), the label in
    /// a column of its own; a long value wraps under itself.
    static func field(_ label: String, _ text: String, width: Int?) -> String {
        let lines = wrap(text, width: width, indent: String(repeating: " ", count: 16))
        return "  " + label.padding(toLength: 14, withPad: " ", startingAt: 0) + lines.joined(separator: "\n").dropFirst(16)
    }

    /// A list nested in a list (districts and their municipalities, categories and their
    /// sub-categories) as one row per inner item, made by `row` from the item and its parent.
    static func nestedRows(
        _ json: [String: Any]?, _ outer: String, _ inner: String, _ row: ([String: Any], [String: Any]) -> [String]
    ) -> [[String]] {
        (json?[outer] as? [[String: Any]] ?? []).flatMap { parent in
            (parent[inner] as? [[String: Any]] ?? []).map { row(parent, $0) }
        }
    }
}
