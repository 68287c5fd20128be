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

    @Option(help: "Colour and emphasis in tables and records: auto (on a terminal, unless NO_COLOR is set), always or never.")
    var color: ColorChoice = .auto

    @Flag(help: "Tables: show every column in full, however wide the terminal.")
    var wide = false

    var resolved: OutputFormat { format ?? (isatty(STDOUT_FILENO) == 1 ? .table : .json) }

    /// The terminal a table or a record is laid out for.
    var terminal: Terminal { Terminal.standardOutput(colour: color) }
}
