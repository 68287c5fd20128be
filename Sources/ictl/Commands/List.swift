import ArgumentParser
import Foundation

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List incidents, newest first, with filters.", usage: "ictl list [--district <d>] [--status <s>] [--q <text>] ... [<options>]",
        discussion: """
            On a terminal the table fits its width: on a narrow one the category shows its sub-category, the \
            municipality its code without its name and the summary is truncated, then the casualties, the \
            category and the municipality are left out; --wide shows every column, the version too.

            Examples:
              ictl list --district mitrovica --since 2026-11-01 --limit 10
              ictl list --status reported --all --format csv > queue.csv
              ictl list --q grenade --wide
            """
    )
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: FormatOption
    @Option(help: "Municipality code or name.") var municipality: String?
    @Option(help: "District code or name.") var district: String?
    @Option var category: String?
    @Option var subcategory: String?
    @Option(help: "reported, verified, rejected or retracted.") var status: String?
    @Option(help: "YYYY-MM-DD") var since: String?
    @Option(help: "YYYY-MM-DD") var until: String?
    @Option(help: "Text to find in summaries, places, perpetrators and targets (case and diacritics ignored).") var q: String?
    @Option(help: "Page size (at most 500).") var limit = 50
    @Flag(help: "Follow next_cursor and list every page.") var all = false

    func run() async throws {
        try await runCommand {
            let (items, cursor) = try await pages(
                connection.client, "/v1/incidents", limit: limit, all: all,
                filters: [
                    ("municipality", municipality), ("district", district), ("category", category), ("subcategory", subcategory),
                    ("status", status), ("since", since), ("until", until), ("q", q),
                ])
            let names = output.resolved == .table ? await ReferenceNames.fetch(try connection.client, taxonomy: false) : ReferenceNames()
            Output.emit(
                output, json: ["items": items, "next_cursor": cursor.map { $0 as Any } ?? NSNull()], columns: incidentColumns, rows: items.map(incidentRow),
                hxl: incidentHXL, table: incidentTable(items, names: names))
        }
    }
}
