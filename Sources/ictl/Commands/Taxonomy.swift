import ArgumentParser
import Foundation

struct Taxonomy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List categories and sub-categories.", usage: "ictl taxonomy [<options>]",
        discussion: """
            ALWAYS names the sensitivity a sub-category is always given.

            Examples:
              ictl taxonomy
              ictl taxonomy --format json | jq '.categories[].code'
            """
    )
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: FormatOption

    func run() async throws {
        try await runCommand {
            let response = try await query(connection.client, "/v1/taxonomy")
            let rows = Output.nestedRows(response.json, "categories", "subcategories") { category, sub in
                [Output.string(category["code"]), Output.string(sub["code"]), Output.string(sub["label"]), Output.string(sub["forced_sensitivity"])]
            }
            let columns = ["CATEGORY", "SUBCATEGORY", "LABEL", "ALWAYS"]
            var table = Table.plain(columns, rows)
            table.styles = ["ALWAYS": Terminal.Style.sensitivity]
            Output.emit(output, json: response.json ?? [:], columns: columns, rows: rows, table: table)
        }
    }
}
