import ArgumentParser
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import reports from an NDJSON or CSV file through the batch endpoint.",
        discussion: """
            NDJSON: one JSON record a line. CSV: a header row of field names (docs/data-model.md);
            list fields (affected_communities, tags) are separated by ';'. A line without an
            incident_id gets one derived from its content, so running the same import again (after
            an interruption, say) stores nothing twice. Valid lines are stored even when others are
            rejected; rejected lines are listed at the end (exit 65 when there are any).
            """
    )
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The file (.ndjson, .jsonl or .csv; - for NDJSON on stdin).") var file: String
    @Option(help: "ndjson or csv (default: from the file name).") var inputFormat: String?
    @Option(help: "Lines per request (at most 10,000).") var chunkSize = 1000

    func validate() throws {
        guard (1...10_000).contains(chunkSize) else { throw ValidationError("--chunk-size must be from 1 to 10000") }
    }

    func run() async throws {
        try await runCommand {
            let client = try connection.client
            let data = file == "-" ? FileHandle.standardInput.readDataToEndOfFile() : FileManager.default.contents(atPath: file)
            guard let data, let text = String(data: data, encoding: .utf8) else {
                throw CLIError(code: Exit.usage, message: "cannot read \(file) as UTF-8 text")
            }
            let csv = (inputFormat ?? (file.lowercased().hasSuffix(".csv") ? "csv" : "ndjson")) == "csv"
            let records = try csv ? CSVRecords.parse(text) : ndjsonLines(text)
            let progress = Progress(total: records.count)
            var accepted = 0, replayed = 0
            var rejected: [(Int, String)] = []
            var start = 0
            var busyWaits = 0
            while start < records.count {
                let chunk = Array(records[start..<min(start + chunkSize, records.count)])
                let body = Data(chunk.map(\.json).joined(separator: "\n").utf8)
                let response: APIResponse
                do {
                    response = try await client.send(.POST, "/v1/incidents:batch", json: body, contentType: "application/x-ndjson", timeout: .seconds(600))
                } catch is Client.Unreachable {
                    progress.finish()
                    throw CLIError(code: Exit.unreachable, message: "the daemon cannot be reached; lines \(chunk[0].line) and later were not sent (\(accepted) stored so far); run the same import again: stored lines are not stored twice")
                }
                if response.status == 429, busyWaits < 30 {
                    // Two imports run on the server already: wait our turn, then send this chunk again.
                    busyWaits += 1
                    if busyWaits == 1 { note("the server runs other imports; waiting") }
                    try await Task.sleep(for: .seconds(min(30, max(1, response.retryAfter ?? 10))))
                    continue
                }
                guard response.status == 200, let json = response.json else {
                    progress.finish()
                    throw CLIError(code: response.exitCode, message: "lines \(chunk[0].line)–\(chunk.last!.line): \(response.errorMessage)")
                }
                accepted += json["accepted"] as? Int ?? 0
                replayed += json["replayed"] as? Int ?? 0
                for item in json["rejected"] as? [[String: Any]] ?? [] {
                    let index = (item["line"] as? Int ?? 1) - 1
                    let error = item["error"] as? [String: Any] ?? [:]
                    var message = error["message"] as? String ?? "rejected"
                    if let fields = (error["details"] as? [String: Any])?["fields"] as? [[String: Any]] {
                        message = fields.map { "\($0["field"] as? String ?? ""): \($0["message"] as? String ?? "")" }.joined(separator: "; ")
                    }
                    rejected.append((index < chunk.count ? chunk[index].line : 0, message))
                }
                start += chunk.count
                progress.update(start)
            }
            progress.finish()
            for (line, message) in rejected.sorted(by: { $0.0 < $1.0 }) { note("line \(line): \(message)") }
            note("imported \(records.count) lines: \(accepted) stored, \(replayed) already stored, \(rejected.count) rejected")
            await flushOutbox(client)
            if !rejected.isEmpty { throw ExitCode(Exit.rejected) }
        }
    }

    /// NDJSON lines with their line numbers; each object gets a content-derived incident id.
    private func ndjsonLines(_ text: String) throws -> [ImportRecord] {
        var records: [ImportRecord] = []
        for (index, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty { continue }
            if var object = (try? JSONSerialization.jsonObject(with: Data(trimmed.utf8))) as? [String: Any] {
                if object["incident_id"] == nil { object["incident_id"] = ImportRecord.derivedID(trimmed) }
                records.append(ImportRecord(line: index + 1, json: ImportRecord.encode(object)))
            } else {
                records.append(ImportRecord(line: index + 1, json: trimmed))  // the server names the error
            }
        }
        return records
    }
}

struct ImportRecord {
    var line: Int
    var json: String

    /// A UUID from the line's content: the same line always maps to the same incident.
    static func derivedID(_ content: String) -> String {
        var bytes = Array(SHA256.hash(data: Data(("import:" + content).utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x80
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let parts = [hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4), hex.dropFirst(16).prefix(4), hex.dropFirst(20)]
        return parts.joined(separator: "-")
    }

    static func encode(_ object: [String: Any]) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8), as: UTF8.self)
    }
}

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
                if integers.contains(name), let int = Int(value) { object[name] = int }
                else if numbers.contains(name), let double = Double(value) { object[name] = double }
                else if lists.contains(name) { object[name] = value.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) } }
                else { object[name] = value }
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

/// A progress bar on stderr when it is a terminal; silent otherwise.
final class Progress {
    let total: Int
    let enabled = isatty(STDERR_FILENO) == 1

    init(total: Int) {
        self.total = total
        update(0)
    }

    func update(_ done: Int) {
        guard enabled, total > 0 else { return }
        let width = 30
        let filled = done * width / total
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        FileHandle.standardError.write(Data("\r\(bar) \(done)/\(total)".utf8))
    }

    func finish() {
        if enabled { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}
