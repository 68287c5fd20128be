import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1

struct DecisionOptions: ParsableArguments {
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The incident id.") var id: String
    @Option(help: "The version you saw; omitted, the current one is fetched.") var expectedVersion: Int?
    @Option(help: "The reviewer's note.") var note: String

    func send(_ decision: String) async throws {
        try await runCommand {
            let client = try connection.client
            let version = try await resolvedVersion(expectedVersion, client, id)
            try await write(
                client, path: "/v1/incidents/\(id)/verification",
                body: ["expected_version": version, "decision": decision, "note": note],
                idempotencyKey: UUID().uuidString.lowercased(), command: decision == "verified" ? "verify" : "reject", incidentID: id)
        }
    }
}
