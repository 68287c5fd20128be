import ArgumentParser
import Foundation
import NIOHTTP1

struct Summary: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Figures per district or municipality and category over a period (analysts, reviewers, admins).",
        discussion: "Counts incidents that are reported or verified (rejected and retracted ones drop out), by the Kosovo day they occurred."
    )
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: FormatOption
    @Option(help: "district or municipality.") var level = "district"
    @Option(help: "First day, YYYY-MM-DD (default: the beginning).") var since: String?
    @Option(help: "Last day, YYYY-MM-DD, inclusive (default: the latest).") var until: String?
    @Option(help: "Only this category.") var category: String?

    func run() async throws {
        try await runCommand {
            var parameters = [("level", level)]
            for (key, value) in [("since", since), ("until", until), ("category", category)] {
                if let value { parameters.append((key, value)) }
            }
            let path = "/v1/summaries?" + parameters.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
            let response = try await query(connection.client, path)
            let json = response.json ?? [:]
            let rows = (json["rows"] as? [[String: Any]] ?? []).map { row in
                ["code", "name", "category", "incidents", "verified", "killed", "injured", "abducted", "displaced"].map { Output.string(row[$0]) }
            }
            let unit = level == "municipality" ? "adm2" : "adm1"
            Output.emit(output.resolved, json: json, columns: ["CODE", "NAME", "CATEGORY", "INCIDENTS", "VERIFIED", "KILLED", "INJURED", "ABDUCTED", "DISPLACED"],
                        rows: rows,
                        hxl: ["#\(unit)+code", "#\(unit)+name", "#event+type", "#event+num", "#event+num+verified",
                              "#affected+killed", "#affected+injured", "#affected+abducted", "#affected+displaced"])
            if output.resolved == .table { note("as of log position \(Output.string(json["as_of"]))") }
        }
    }
}

struct Digest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The weekly digest: Markdown, self-contained HTML with charts, JSON or CSV with HXL tags.",
        discussion: """
            For cron: `ictl digest --week last --format html --output /srv/digests/latest.html`.
            --output is written atomically (a temporary file, then a rename): readers never see half a
            digest. On any failure: one line on stderr, nothing on stdout, a non-zero exit.
            """
    )
    @OptionGroup var connection: ConnectionOptions
    @Option(help: "ISO week, e.g. 2026-W48, or last (the last complete week).") var week = "last"
    @Option(help: "markdown, html, json or csv.") var format: DigestFormat = .markdown
    @Option(help: "Write to this file instead of stdout.") var output: String?

    enum DigestFormat: String, ExpressibleByArgument, CaseIterable { case markdown, html, json, csv }

    func run() async throws {
        try await runCommand {
            let response = try await query(connection.client, "/v1/digests/weekly?week=" + (week.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
            let text: String
            if format == .json {
                text = String(decoding: response.body, as: UTF8.self)
            } else {
                let digest: DigestDocument
                do {
                    digest = try JSONDecoder().decode(DigestDocument.self, from: response.body)
                } catch {
                    throw CLIError(code: Exit.other, message: "the daemon's digest could not be read (\(error)); are ictl and incidentd the same version?")
                }
                text = switch format {
                case .markdown: DigestRendering.markdown(digest)
                case .html: DigestRendering.html(digest)
                case .csv: DigestRendering.csv(digest)
                case .json: ""
                }
            }
            guard let output else {
                print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
                return
            }
            try writeAtomically(Data(text.utf8), to: output)
            // Cron mails whatever a job prints: on success, say nothing unless someone is watching.
            if isatty(STDERR_FILENO) == 1 { note("wrote \(output)") }
        }
    }
}

/// Writes `data` to a temporary file beside `path`, then renames it over `path`: a reader sees the
/// old file or the new one, never a part. Any failure is one ``CLIError`` line.
func writeAtomically(_ data: Data, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let directory = url.deletingLastPathComponent()
    let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
    do {
        try data.write(to: temporary)
        guard rename(temporary.path, url.path) == 0 else {
            throw CLIError(code: Exit.other, message: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    } catch let error as CLIError {
        try? FileManager.default.removeItem(at: temporary)
        throw error
    } catch {
        try? FileManager.default.removeItem(at: temporary)
        let reason = (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
        throw CLIError(code: Exit.other, message: "cannot write \(path): \(reason)")
    }
}

struct Rebuild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild a projection (incidents or region_summary) from the log; reads keep answering meanwhile.",
        discussion: "Waits until the rebuilt tables are swapped in, showing progress on stderr; --no-wait returns once it started."
    )
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "incidents or region_summary.") var name: String
    @Flag(help: "Return once the rebuild started.") var noWait = false

    func run() async throws {
        try await runCommand {
            let client = try connection.client
            func projection() async throws -> [String: Any] {
                let status = try await query(client, "/v1/admin/projections")
                guard let projection = (status.json?["projections"] as? [[String: Any]])?.first(where: { $0["name"] as? String == name }) else {
                    throw CLIError(code: Exit.notFound, message: "no projection named '\(name)'; one of incidents, region_summary")
                }
                return projection
            }
            let before = Output.string(try await projection()["rebuilt_at"])
            let response: APIResponse
            do {
                response = try await client.send(.POST, "/v1/admin/projections/\(name):rebuild")
            } catch is Client.Unreachable {
                throw CLIError(code: Exit.unreachable, message: "the daemon at \(client.server) cannot be reached")
            }
            guard response.status == 202 else { throw CLIError(code: response.exitCode, message: response.errorMessage) }
            note("rebuilding \(name)")
            if noWait { return }
            while true {
                try await Task.sleep(for: .milliseconds(200))
                let projection = try await projection()
                // Done at the swap: the daemon empties the old tables after it, still "rebuilding".
                let swapped = Output.string(projection["rebuilt_at"]) != before
                if !swapped, projection["rebuilding"] as? Bool == true {
                    if isatty(STDERR_FILENO) == 1, let position = projection["rebuild_position"] as? NSNumber, let asOf = projection["as_of"] as? NSNumber {
                        FileHandle.standardError.write(Data("\r  replayed up to position \(position) of \(asOf)   ".utf8))
                    }
                    continue
                }
                if isatty(STDERR_FILENO) == 1 { FileHandle.standardError.write(Data("\n".utf8)) }
                guard swapped else {
                    throw CLIError(code: Exit.other, message: "the rebuild of \(name) stopped before its swap; the live tables are unchanged (see incidentd's log)")
                }
                note("\(name) rebuilt and swapped in; as of log position \(Output.string(projection["as_of"]))")
                return
            }
        }
    }
}
