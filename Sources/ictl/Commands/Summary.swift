import ArgumentParser
import Foundation
import NIOHTTP1

struct Summary: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Figures per district or municipality and category over a period (analysts, reviewers, admins).",
        usage: "ictl summary [--level <l>] [--since <day>] [--until <day>] [<options>]",
        discussion: """
            Counts incidents that are reported or verified (rejected and retracted ones drop out), by the Kosovo \
            day they occurred. On a narrow terminal the displaced, abducted and verified columns are left out \
            first.

            Examples:
              ictl summary --level district --since 2026-11-01
              ictl summary --level municipality --category explosives --format hxl
            """
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
            let columns = ["CODE", "NAME", "CATEGORY", "INCIDENTS", "VERIFIED", "KILLED", "INJURED", "ABDUCTED", "DISPLACED"]
            let unit = level == "municipality" ? "adm2" : "adm1"
            Output.emit(
                output, json: json, columns: columns,
                rows: rows,
                hxl: [
                    "#\(unit)+code", "#\(unit)+name", "#event+type", "#event+num", "#event+num+verified",
                    "#affected+killed", "#affected+injured", "#affected+abducted", "#affected+displaced",
                ],
                table: Table(
                    titles: columns, rows: rows, flexible: [("NAME", 12), ("CATEGORY", 15)], dropping: ["DISPLACED", "ABDUCTED", "VERIFIED", "NAME"]))
            if output.resolved == .table { note("as of log position \(Output.string(json["as_of"]))") }
        }
    }
}
