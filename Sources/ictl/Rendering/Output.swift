import ArgumentParser
import Foundation

/// Prints rows as an aligned table, CSV, or the daemon's JSON.
enum Output {
    static func emit(_ format: OutputFormat, json: Any, columns: [String], rows: [[String]], hxl: [String]? = nil) {
        switch format {
        case .hxl:
            print(CSV.line(columns))
            print(CSV.line(hxl ?? columns.map { _ in "#meta" }))
            for row in rows { print(CSV.line(row)) }
        case .json:
            let data = (try? JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
            print(String(decoding: data, as: UTF8.self))
        case .csv:
            print(CSV.line(columns))
            for row in rows { print(CSV.line(row)) }
        case .table:
            let widths = columns.indices.map { index in min(60, max(columns[index].count, rows.map { $0[index].count }.max() ?? 0)) }
            func line(_ cells: [String]) -> String {
                cells.enumerated().map { index, cell in
                    let clipped = cell.count > widths[index] ? String(cell.prefix(widths[index] - 1)) + "…" : cell
                    return clipped.padding(toLength: widths[index], withPad: " ", startingAt: 0)
                }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
            }
            print(line(columns))
            for row in rows { print(line(row)) }
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
}
