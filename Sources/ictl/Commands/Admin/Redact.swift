import ArgumentParser
import Foundation
import NIOHTTP1

/// `ictl admin redact ID --reason R [--summary S ...]`: an incident's free text made unreadable for good.
struct Redact: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Redact an incident's free text for good (destroys its narrative key); prints its id.",
        usage: "ictl admin redact <id> --reason <text> [--summary <text>] [<options>]",
        discussion: """
            Summary, place, perpetrator, target and every reason and note of the incident become unreadable in \
            the log. Reads, lists, digests and exports show the replacement given here, or [redacted] for a \
            field without one.

            Example:
              ictl admin redact ID --reason 'names a witness' \\
                  --summary 'An assault near a school.'
            """
    )
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The incident id.") var id: String
    @Option(help: "Why (sealed in the log).") var reason: String
    @Option(help: "The summary to show instead.") var summary: String?
    @Option(help: "The place to show instead.") var place: String?
    @Option(help: "The perpetrator to show instead.") var perpetrator: String?
    @Option(help: "The target to show instead.") var target: String?

    func run() async throws {
        try await runCommand {
            var replacement: [String: String] = [:]
            for (field, value) in [("summary", summary), ("place", place), ("perpetrator", perpetrator), ("target", target)] {
                if let value { replacement[field] = value }
            }
            let body = try JSONSerialization.data(withJSONObject: ["reason": reason, "replacement": replacement], options: [.sortedKeys])
            let response = try await connection.client.send(.POST, "/v1/incidents/\(id)/narrative:redact", json: body)
            try response.succeeded()
            print(id)
        }
    }
}
