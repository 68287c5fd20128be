import ArgumentParser
import Foundation
import NIOHTTP1

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    /// `hxl`: CSV with a row of HXL hashtags under the header, for humanitarian spreadsheets.
    case table, json, csv, hxl
}

struct FormatOption: ParsableArguments {
    @Option(help: "Output format: table, json, csv or hxl (default: table on a terminal, json otherwise).")
    var format: OutputFormat?

    var resolved: OutputFormat { format ?? (isatty(STDOUT_FILENO) == 1 ? .table : .json) }
}
