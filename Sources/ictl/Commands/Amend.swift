import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1

struct Amend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Amend fields of an incident, with a reason; prints its id.", usage: "ictl amend <id> --set <field=value> ... --reason <text> [<options>]",
        discussion: """
            Each --set is field=value; numbers and JSON values are parsed and null clears a field. Without \
            --expected-version the current version is fetched first.

            Examples:
              ictl amend ID --expected-version 1 --set killed=2 \\
                  --set municipality=pec --reason 'police report'
              ictl amend ID --changes-file changes.json --reason 'follow-up visit'
            """
    )
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The incident id.") var id: String
    @Option(help: "The version you saw (ictl show); omitted, the current one is fetched.") var expectedVersion: Int?
    @Option(name: .customLong("set"), help: ArgumentHelp("field=value (repeatable); numbers and JSON values are parsed, 'null' clears.", valueName: "field=value"))
    var sets: [String] = []
    @Option(help: ArgumentHelp("A JSON file of changes.", valueName: "file")) var changesFile: String?
    @Option(help: "Why the record changes.") var reason: String

    func validate() throws {
        if sets.isEmpty && changesFile == nil { throw ValidationError("give --set field=value or --changes-file") }
        for item in sets where !item.contains("=") { throw ValidationError("--set takes field=value, not '\(item)'") }
    }

    func run() async throws {
        try await runCommand {
            var changes: [String: Any] = [:]
            if let changesFile {
                guard let data = FileManager.default.contents(atPath: changesFile),
                    let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
                else { throw CLIError(code: Exit.usage, message: "\(changesFile) is not a JSON object") }
                changes = object
            }
            for item in sets {
                let parts = item.split(separator: "=", maxSplits: 1)
                let key = String(parts[0]), text = parts.count > 1 ? String(parts[1]) : ""
                changes[key] = (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) ?? text
            }
            let client = try connection.client
            let version = try await resolvedVersion(expectedVersion, client, id)
            try await write(
                client, path: "/v1/incidents/\(id)/amendments",
                body: ["expected_version": version, "changes": changes, "reason": reason],
                idempotencyKey: UUID().uuidString.lowercased(), command: "amend", incidentID: id)
        }
    }
}
