import ArgumentParser
import Foundation
import NIOHTTP1

struct Rebuild: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Rebuild a projection (incidents or region_summary) from the log; reads keep answering meanwhile.",
        usage: "ictl admin rebuild <name> [--no-wait] [<options>]",
        discussion: """
            Waits until the rebuilt tables are swapped in, showing progress on stderr on a terminal; --no-wait \
            returns once it started.

            Examples:
              ictl admin rebuild region_summary
              ictl admin rebuild incidents --no-wait
            """
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
