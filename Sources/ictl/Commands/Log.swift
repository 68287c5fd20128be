import ArgumentParser
import Foundation

struct Log: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read the event log after a checkpoint (analysts, reviewers, admins).", usage: "ictl log [--after <checkpoint>] [--limit <n>] [<options>]",
        discussion: """
            The table ends with the checkpoint to continue from, on stderr.

            Examples:
              ictl log --limit 20
              ictl log --after CHECKPOINT --format json
            """
    )
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: FormatOption
    @Option(help: "The checkpoint to read after (from an earlier answer); empty: the start.") var after = ""
    @Option(help: "Events to read (at most 1000).") var limit = 100

    func run() async throws {
        try await runCommand {
            let path = "/v1/events?limit=\(limit)&after=\(after.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
            let response = try await query(connection.client, path)
            let events = response.objects("events")
            Output.emit(
                output, json: response.json ?? [:], columns: ["POSITION", "RECORDED", "TYPE", "STREAM", "VERSION"],
                rows: events.map {
                    [
                        Output.string($0["global_position"]), Output.string($0["recorded_at"]), Output.string($0["type"]), Output.string($0["stream"]),
                        Output.string($0["stream_version"]),
                    ]
                })
            if output.resolved == .table { note("checkpoint: \(Output.string(response.json?["checkpoint"]))") }
        }
    }
}
