import ArgumentParser
import NIOHTTP1
import Foundation

struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "Requests kept while the daemon could not be reached.",
        subcommands: [ListQueued.self, Sync.self]
    )

    struct ListQueued: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List queued requests, oldest first.")
        @OptionGroup var output: FormatOption

        func run() async throws {
            let entries = Outbox().entries()
            let json = entries.map { ["id": $0.id, "created_at": ISO8601DateFormatter().string(from: $0.createdAt), "path": $0.path, "summary": $0.summary] }
            Output.emit(output.resolved, json: json, columns: ["ID", "QUEUED", "REQUEST"], rows: entries.map {
                [$0.id, ISO8601DateFormatter().string(from: $0.createdAt), $0.summary]
            })
        }
    }

    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send queued requests; each is stored once, however often this runs.")
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await runCommand {
                let outbox = Outbox()
                let before = outbox.entries().count
                let result = try await outbox.sync(with: connection.client)
                for (entry, response) in result.delivered {
                    note("delivered: \(entry.summary)" + (response.status == 200 ? " (already stored)" : ""))
                }
                for (entry, response) in result.rejected {
                    note("rejected: \(entry.summary): \(response.errorMessage) (kept in \(outbox.failedDirectory))")
                }
                note("\(result.delivered.count) of \(before) delivered, \(result.rejected.count) rejected, \(result.remaining) still queued")
                if result.remaining > 0 { throw CLIError(code: Exit.unreachable, message: "the daemon cannot be reached or is not ready; \(result.remaining) request(s) stay queued") }
                if !result.rejected.isEmpty { throw ExitCode(Exit.rejected) }
            }
        }
    }
}

struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Save the server and token (mode 0600) after checking them.")
    @Option(help: "incidentd URL (ICTL_SERVER if omitted, else http://127.0.0.1:8080).") var server: String?
    @Option(help: "The API token (ICTL_TOKEN if omitted).") var token: String?
    @Option(help: ArgumentHelp("For an https server: the CA certificates (PEM) to trust instead of the system's (ICTL_CA_FILE if omitted); saved too.", valueName: "file")) var caFile: String?
    @Flag(help: "Accept a plain http:// server that is not this machine (also ICTL_INSECURE=1); saved with it, so later commands to that server need no --insecure.")
    var insecure = false

    func run() async throws {
        try await runCommand {
            guard let token = token ?? ProcessInfo.processInfo.environment["ICTL_TOKEN"] else {
                throw CLIError(code: Exit.usage, message: "give --token or set ICTL_TOKEN")
            }
            let server = server ?? ProcessInfo.processInfo.environment["ICTL_SERVER"].flatMap { $0.isEmpty ? nil : $0 } ?? "http://127.0.0.1:8080"
            let caFile = (caFile ?? ProcessInfo.processInfo.environment["ICTL_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 })
                .map { URL(fileURLWithPath: $0).standardizedFileURL.path }
            let client = try Client(server: server, token: token, caFile: caFile, insecure: insecure || Client.insecureFromEnvironment)
            _ = try await query(client, "/v1/taxonomy")
            let path = Paths.config
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            // Saved only when it was needed, and only for this server.
            let accepted: Bool? = client.isPlainHTTPBeyondLoopback ? true : nil
            let data = try JSONEncoder().encode(StoredConfig(server: server, token: token, caFile: caFile, insecure: accepted))
            guard FileManager.default.createFile(atPath: path, contents: data, attributes: [.posixPermissions: 0o600]) else {
                throw CLIError(code: Exit.other, message: "cannot write \(path)")
            }
            chmod(path, 0o600)
            note("logged in to \(server); saved in \(path)" + (accepted == true ? " (with plain http accepted for this server)" : ""))
        }
    }
}

struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Tokens, erasure, redaction and projection rebuilds (admins).", subcommands: [TokenCommand.self, Erase.self, Redact.self, Rebuild.self])

    struct TokenCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "token", abstract: "Manage API tokens.", subcommands: [Create.self, ListTokens.self, Revoke.self])

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create a token; prints it alone on stdout (shown once).")
            @OptionGroup var connection: ConnectionOptions
            @Option var name: String
            @Option(help: "reporter, reviewer, analyst or admin.") var role: String
            @Option(help: "Expire after e.g. 90d.") var expires: String?

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
                    Output.emit(output.resolved, json: response.json ?? [:], columns: ["NAME", "ROLE", "CREATED", "EXPIRES", "REVOKED"], rows: tokens.map {
                        [Output.string($0["name"]), Output.string($0["role"]), Output.string($0["created_at"]), Output.string($0["expires_at"]), Output.string($0["revoked_at"])]
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

    struct Erase: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Erase an incident's personal data for good (destroys its key); prints its id.")
        @OptionGroup var connection: ConnectionOptions
        @Argument(help: "The incident id.") var id: String
        @Option(help: "Why (recorded in the log).") var reason: String

        func run() async throws {
            try await runCommand {
                let response = try await connection.client.send(.POST, "/v1/incidents/\(id)/personal-data:erase", json: try JSONSerialization.data(withJSONObject: ["reason": reason]))
                guard (200..<300).contains(response.status) else { throw CLIError(code: response.exitCode, message: response.errorMessage) }
                print(id)
            }
        }
    }
}
