import ArgumentParser
import Foundation
import NIOHTTP1

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "token", abstract: "Manage API tokens.", subcommands: [Create.self, ListTokens.self, Revoke.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token; prints it alone on stdout (shown once).")
        @OptionGroup var connection: ConnectionOptions
        @Option var name: String
        @Option(help: "reporter, reviewer, analyst, admin, or metrics (reads /metrics only).") var role: String
        @Option(help: "Expire after e.g. 90d (the default), 12h or 30m; never: no expiry (must be said).") var expires: String?

        func run() async throws {
            try await runCommand {
                var body: [String: Any] = ["name": name, "role": role]
                if let expires { body["expires"] = expires }
                let response = try await connection.client.send(.POST, "/v1/admin/tokens", json: try JSONSerialization.data(withJSONObject: body))
                guard response.status == 201, let token = response.json?["token"] as? String else {
                    throw CLIError(code: response.exitCode, message: response.errorMessage)
                }
                print(token)
            }
        }
    }

    struct ListTokens: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List tokens.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: FormatOption

        func run() async throws {
            try await runCommand {
                let response = try await query(connection.client, "/v1/admin/tokens")
                let tokens = response.json?["tokens"] as? [[String: Any]] ?? []
                Output.emit(
                    output.resolved, json: response.json ?? [:], columns: ["NAME", "ROLE", "CREATED", "EXPIRES", "REVOKED"],
                    rows: tokens.map {
                        [
                            Output.string($0["name"]), Output.string($0["role"]), Output.string($0["created_at"]), Output.string($0["expires_at"]),
                            Output.string($0["revoked_at"]),
                        ]
                    })
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by name.")
        @OptionGroup var connection: ConnectionOptions
        @Argument var name: String

        func run() async throws {
            try await runCommand {
                let response = try await connection.client.send(.DELETE, "/v1/admin/tokens/\(name)")
                guard (200..<300).contains(response.status) else { throw CLIError(code: response.exitCode, message: response.errorMessage) }
                note("token '\(name)' revoked")
            }
        }
    }
}
