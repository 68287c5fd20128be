import ArgumentParser
import Foundation
import IncidentRendering

/// Prints rows as an aligned table, CSV, or the daemon's JSON.
enum Output {
    static func emit(_ format: OutputFormat, json: Any, columns: [String], rows: [[String]], hxl: [String]? = nil) {
        for line in lines(format, json: json, columns: columns, rows: rows, hxl: hxl) { print(line) }
    }

    /// The lines ``emit(_:json:columns:rows:hxl:)`` prints, each without its line break: for `json`, one
    /// line (pretty-printed, so it holds line breaks of its own); for `hxl`, a row of hashtags under the
    /// header (`hxl`, or `#meta` for each column); for `table`, columns of at most 60 characters.
    static func lines(_ format: OutputFormat, json: Any, columns: [String], rows: [[String]], hxl: [String]? = nil) -> [String] {
        switch format {
        case .hxl:
            return [CSV.line(columns), CSV.line(hxl ?? columns.map { _ in "#meta" })] + rows.map(CSV.line)
        case .json:
            let data = (try? JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
            return [String(decoding: data, as: UTF8.self)]
        case .csv:
            return [CSV.line(columns)] + rows.map(CSV.line)
        case .table:
            let widths = columns.indices.map { index in min(60, max(columns[index].count, rows.map { $0[index].count }.max() ?? 0)) }
            func line(_ cells: [String]) -> String {
                cells.enumerated().map { index, cell in
                    let clipped = cell.count > widths[index] ? String(cell.prefix(widths[index] - 1)) + "…" : cell
                    return clipped.padding(toLength: widths[index], withPad: " ", startingAt: 0)
                }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
            }
            return [line(columns)] + rows.map(line)
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
