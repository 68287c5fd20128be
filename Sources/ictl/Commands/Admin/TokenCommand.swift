import ArgumentParser
import Foundation
import NIOHTTP1

struct TokenCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token", abstract: "Manage API tokens.",
        discussion: """
            Examples:
              ictl admin token create --name field-prizren-1 --role reporter
              ictl admin token list
              ictl admin token revoke field-prizren-1
            """, subcommands: [Create.self, ListTokens.self, Revoke.self]
    )

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a token; prints it alone on stdout (shown once).", usage: "ictl admin token create --name <n> --role <r> [--expires <d>] [<options>]",
            discussion: """
                Examples:
                  ictl admin token create --name field-prizren-1 --role reporter
                  ictl admin token create --name dashboards --role metrics --expires never
                """
        )
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
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List tokens.", usage: "ictl admin token list [<options>]",
            discussion: """
                Example:
                  ictl admin token list --format csv
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: FormatOption

        func run() async throws {
            try await runCommand {
                let response = try await query(connection.client, "/v1/admin/tokens")
                let tokens = response.objects("tokens")
                let columns = ["NAME", "ROLE", "CREATED", "EXPIRES", "REVOKED"]
                let rows = tokens.map { token in
                    [Output.string(token["name"]), Output.string(token["role"])] + ["created_at", "expires_at", "revoked_at"].map { Output.string(token[$0]) }
                }
                // For a person the times to the minute, so a token's line fits a laptop's terminal.
                let moments = rows.map { row in Array(row.prefix(2)) + row.dropFirst(2).map(IncidentTimeline.moment) }
                Output.emit(
                    output, json: response.json ?? [:], columns: columns, rows: rows,
                    table: Table(titles: columns, rows: moments, flexible: [("NAME", 12)], dropping: ["CREATED"]))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Revoke a token by name.", usage: "ictl admin token revoke <name> [<options>]",
            discussion: """
                Example:
                  ictl admin token revoke field-prizren-1
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @Argument var name: String

        func run() async throws {
            try await runCommand {
                let response = try await connection.client.send(.DELETE, "/v1/admin/tokens/\(name)")
                try response.succeeded()
                note("token '\(name)' revoked")
            }
        }
    }
}
