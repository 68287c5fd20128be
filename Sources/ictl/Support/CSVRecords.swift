import ArgumentParser
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

/// CSV with a header row of field names; numbers and lists converted by field.
enum CSVRecords {
    static let integers: Set<String> = ["killed", "killed_low", "killed_high", "injured", "abducted", "displaced", "geo_precision", "info_credibility"]
    static let numbers: Set<String> = ["lat", "lon"]
    static let lists: Set<String> = ["affected_communities", "tags"]

    static func parse(_ text: String) throws -> [ImportRecord] {
        let rows = rowsOf(text)
        guard let header = rows.first?.fields else { return [] }
        var records: [ImportRecord] = []
        for row in rows.dropFirst() where !row.fields.allSatisfy({ $0.isEmpty }) {
            var object: [String: Any] = [:]
            for (index, name) in header.enumerated() where index < row.fields.count {
                let value = row.fields[index]
                if value.isEmpty { continue }
                if integers.contains(name), let int = Int(value) {
                    object[name] = int
                } else if numbers.contains(name), let double = Double(value) {
                    object[name] = double
                } else if lists.contains(name) {
                    object[name] = value.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
                } else {
                    object[name] = value
                }
            }
            if object["incident_id"] == nil { object["incident_id"] = ImportRecord.derivedID(row.fields.joined(separator: "\u{1F}")) }
            records.append(ImportRecord(line: row.line, json: ImportRecord.encode(object)))
        }
        return records
    }

    /// RFC 4180 rows (quoted fields may hold commas, quotes and newlines), with their first line number.
    static func rowsOf(_ text: String) -> [(line: Int, fields: [String])] {
        var rows: [(line: Int, fields: [String])] = []
        var fields: [String] = []
        var field = ""
        var quoted = false
        var line = 1
        var rowLine = 1
        var characters = Array(text)[...]
        while let c = characters.popFirst() {
            if quoted {
                if c == "\"" {
                    if characters.first == "\"" { field.append("\""); characters.removeFirst() } else { quoted = false }
                } else {
                    if c == "\n" { line += 1 }
                    field.append(c)
                }
            } else if c == "\"" {
                quoted = true
            } else if c == "," {
                fields.append(field); field = ""
            } else if c == "\n" || c == "\r\n" {
                fields.append(field); field = ""
                rows.append((rowLine, fields)); fields = []
                line += 1
                rowLine = line
            } else if c != "\r" {
                field.append(c)
            }
        }
        if !field.isEmpty || !fields.isEmpty { fields.append(field); rows.append((rowLine, fields)) }
        return rows
    }
}
