import ArgumentParser
import Foundation
import NIOHTTP1

struct Erase: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Erase an incident's personal data for good (destroys its key); prints its id.", usage: "ictl admin erase <id> --reason <text> [<options>]",
        discussion: """
            The incident's key is destroyed: its personal data can never be read again, from the log or from a \
            backup.

            Example:
              ictl admin erase ID --reason 'the victim asked for erasure'
            """
    )
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The incident id.") var id: String
    @Option(help: "Why (recorded in the log).") var reason: String

    func run() async throws {
        try await runCommand {
            let response = try await connection.client.send(
                .POST, "/v1/incidents/\(id)/personal-data:erase", json: try JSONSerialization.data(withJSONObject: ["reason": reason]))
            try response.succeeded()
            print(id)
        }
    }
}
