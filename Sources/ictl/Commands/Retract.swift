import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1

struct Retract: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Retract an incident (duplicate, erroneous, out_of_scope); prints its id.",
        usage: "ictl retract <id> --reason <reason> [--duplicate-of <id>] [<options>]",
        discussion: """
            A retracted incident stays in the log and drops out of every figure. Without --expected-version the \
            current version is fetched first.

            Examples:
              ictl retract ID --reason duplicate --duplicate-of OTHER-ID
              ictl retract ID --reason out_of_scope
            """
    )
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The incident id.") var id: String
    @Option(help: "The version you saw; omitted, the current one is fetched.") var expectedVersion: Int?
    @Option(help: "duplicate, erroneous or out_of_scope.") var reason: String
    @Option(help: "The incident this one duplicates.") var duplicateOf: String?

    func run() async throws {
        try await runCommand {
            let client = try connection.client
            let version = try await resolvedVersion(expectedVersion, client, id)
            var body: [String: Any] = ["expected_version": version, "reason": reason]
            if let duplicateOf { body["duplicate_of"] = duplicateOf }
            try await write(
                client, path: "/v1/incidents/\(id)/retraction", body: body,
                idempotencyKey: UUID().uuidString.lowercased(), command: "retract", incidentID: id)
        }
    }
}
