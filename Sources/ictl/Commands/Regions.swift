import ArgumentParser
import Foundation

struct Regions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List Kosovo's districts and municipalities with their codes.", usage: "ictl regions [<options>]",
        discussion: """
            Municipalities are given by code or by any of their names (Albanian, Serbian, aliases) wherever a \
            command takes one.

            Examples:
              ictl regions
              ictl regions --format csv > regions.csv
            """
    )
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: FormatOption

    func run() async throws {
        try await runCommand {
            let response = try await query(connection.client, "/v1/regions")
            let rows = Output.nestedRows(response.json, "districts", "municipalities") { district, m in
                [
                    Output.string(district["code"]), Output.string(district["name"]), Output.string(m["code"]), Output.string(m["name"]),
                    (m["aliases"] as? [String] ?? []).joined(separator: "; "),
                ]
            }
            Output.emit(
                output, json: response.json ?? [:], columns: ["DISTRICT", "DISTRICT NAME", "CODE", "MUNICIPALITY", "ALIASES"], rows: rows,
                hxl: ["#adm1+code", "#adm1+name", "#adm2+code", "#adm2+name", "#adm2+name+alt"],
                table: Table(
                    titles: ["DISTRICT", "DISTRICT NAME", "CODE", "MUNICIPALITY", "ALIASES"], rows: rows,
                    flexible: [("ALIASES", 12), ("DISTRICT NAME", 12), ("MUNICIPALITY", 16)], dropping: ["ALIASES", "DISTRICT NAME"]))
        }
    }
}
