import ArgumentParser
import Crypto
import Foundation
import IncidentAPI
import NIOCore
import NIOHTTP1

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Import reports from an NDJSON or CSV file through the batch endpoint.",
        usage: "ictl import <file> [--input-format <f>] [--chunk-size <n>] [<options>]",
        discussion: """
            NDJSON: one JSON record a line. CSV: a header row of field names (docs/data-model.md); list fields \
            (affected_communities, tags) are separated by ';'. A line without an incident_id gets one derived \
            from its content, so running the same import again (after an interruption, say) stores nothing \
            twice. Valid lines are stored even when others are rejected; rejected lines are listed at the end \
            (exit 65 when there are any). A progress bar shows on a terminal.

            Examples:
              ictl import reports.csv
              ictl import reports.ndjson --chunk-size 500
              generate-reports | ictl import -
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
                    throw CLIError(
                        code: Exit.unreachable,
                        message:
                            "the daemon cannot be reached; lines \(chunk[0].line) and later were not sent (\(accepted) stored so far); run the same import again: stored lines are not stored twice"
                    )
                }
                if response.status == 429, busyWaits < 30 {
                    // Two imports run on the server already: wait our turn, then send this chunk again.
                    busyWaits += 1
                    if busyWaits == 1 { note("the server runs other imports; waiting") }
                    try await Task.sleep(for: .seconds(min(30, max(1, response.retryAfter ?? 10))))
                    continue
                }
                guard response.status == 200, let answer = BatchAnswer(decoding: response.body) else {
                    progress.finish()
                    throw CLIError(code: response.exitCode, message: "lines \(chunk[0].line)–\(chunk.last!.line): \(response.errorMessage)")
                }
                accepted += answer.accepted
                replayed += answer.replayed
                for rejection in answer.rejected {
                    let index = rejection.line - 1
                    let fields = rejection.error.fields.map { "\($0.field): \($0.message)" }
                    rejected.append((chunk.indices.contains(index) ? chunk[index].line : 0, fields.isEmpty ? rejection.error.message : fields.joined(separator: "; ")))
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
