import ArgumentParser
import NIOHTTP1
import Foundation

struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "Requests kept, sealed, while the daemon could not be reached.",
        discussion: """
            Each queued request is sealed (HPKE) to the server's outbox key, which `ictl login` and
            every later successful command keep current; only the queued time, command, incident
            id, attempts and last error are outside the seal. Rejected requests stay sealed in
            outbox/rejected/ for 30 days.
            """,
        subcommands: [ListQueued.self, Sync.self, Purge.self]
    )

    struct ListQueued: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "list", abstract: "List queued requests, oldest first, then rejected ones.")
        @OptionGroup var output: FormatOption

        func run() async throws {
            let outbox = Outbox.opened()
            let entries = outbox.entries().map { ("queued", $0) } + outbox.rejected().map { ("rejected", $0) }
            let time = { (date: Date?) in date.map { ISO8601DateFormatter().string(from: $0) } }
            let json = entries.map { state, entry -> [String: Any] in
                [
                    "id": entry.id, "state": state, "queued_at": time(entry.queuedAt) ?? "", "command": entry.command,
                    "incident_id": entry.incidentID ?? NSNull(), "attempts": entry.attempts, "last_error": entry.lastError ?? NSNull(),
                    "rejected_at": time(entry.rejectedAt) ?? NSNull(),
                ]
            }
            Output.emit(output.resolved, json: json, columns: ["ID", "STATE", "QUEUED", "COMMAND", "INCIDENT", "ATTEMPTS", "LAST ERROR"], rows: entries.map { state, entry in
                [entry.id, state, time(entry.queuedAt) ?? "", entry.command, entry.incidentID ?? "", String(entry.attempts), entry.lastError ?? ""]
            })
        }
    }

    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Send queued requests; each is stored once, however often this runs.")
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await runCommand {
                let outbox = Outbox.opened()
                let before = outbox.entries().count
                let result = try await outbox.sync(with: connection.client)
                for (entry, response) in result.delivered {
                    note("delivered: \(entry.label)" + (response.status == 200 ? " (already stored)" : ""))
                }
                for (entry, response) in result.rejected {
                    note("rejected: \(entry.label): \(response.errorMessage) (kept sealed in \(outbox.rejectedDirectory))")
                }
                note("\(result.delivered.count) of \(before) delivered, \(result.rejected.count) rejected, \(result.remaining) still queued")
                if result.remaining > 0 { throw CLIError(code: Exit.unreachable, message: "the daemon cannot be reached or is not ready; \(result.remaining) request(s) stay queued") }
                if !result.rejected.isEmpty { throw ExitCode(Exit.rejected) }
            }
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete the rejected requests now (they are deleted 30 days after rejection anyway).")

        func run() async throws {
            let count = Outbox.opened().purgeRejected()
            note("deleted \(count) rejected request(s)")
        }
    }
}

struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Save the server, the token and the server's outbox key (mode 0600) after checking them.")
    @Option(help: "incidentd URL (ICTL_SERVER if omitted, else http://127.0.0.1:8080).") var server: String?
    @Option(help: "The API token (ICTL_TOKEN if omitted). On a shared machine prefer --token-stdin: a command line is visible to every user.") var token: String?
    @Flag(help: "Read the token from standard input (its first line), not from the command line.") var tokenStdin = false
    @Option(help: ArgumentHelp("For an https server: the CA certificates (PEM) to trust instead of the system's (ICTL_CA_FILE if omitted); saved too.", valueName: "file")) var caFile: String?
    @Flag(help: "Accept a plain http:// server that is not this machine (also ICTL_INSECURE=1); saved with it, so later commands to that server need no --insecure.")
    var insecure = false

    func validate() throws {
        if tokenStdin && token != nil { throw ValidationError("give --token or --token-stdin, not both") }
    }

    func run() async throws {
        try await runCommand {
            let given = tokenStdin ? Self.tokenFromStdin() : token ?? ProcessInfo.processInfo.environment["ICTL_TOKEN"].flatMap { $0.isEmpty ? nil : $0 }
            guard let token = given else {
                throw CLIError(code: Exit.usage, message: tokenStdin ? "no token on standard input" : "give --token, --token-stdin or set ICTL_TOKEN")
            }
            let server = server ?? ProcessInfo.processInfo.environment["ICTL_SERVER"].flatMap { $0.isEmpty ? nil : $0 } ?? "http://127.0.0.1:8080"
            let caFile = (caFile ?? ProcessInfo.processInfo.environment["ICTL_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 })
                .map { URL(fileURLWithPath: $0).standardizedFileURL.path }
            let client = try Client(server: server, token: token, caFile: caFile, insecure: insecure || Client.insecureFromEnvironment)
            _ = try await query(client, "/v1/taxonomy")
            // The key writes made offline are sealed to; without it they cannot be kept.
            var outboxKey: OutboxKey?
            do {
                outboxKey = try await client.fetchOutboxKey()
            } catch let error as CLIError {
                note("warning: \(error.message); writes made offline cannot be kept until a later command gets the key")
            }
            let path = Paths.config
            // Plain http accepted is saved only when it was needed, and only for this server.
            let accepted: Bool? = client.isPlainHTTPBeyondLoopback ? true : nil
            try StoredConfig(server: server, token: token, caFile: caFile, insecure: accepted, outboxKey: outboxKey).save(to: path)
            note("logged in to \(server); saved in \(path)" + (accepted == true ? " (with plain http accepted for this server)" : ""))
        }
    }
}

extension Login {
    /// The first line of standard input, without surrounding white space; nil when there is none.
    static func tokenFromStdin() -> String? {
        guard let line = readLine(strippingNewline: true) else { return nil }
        let token = line.trimmingCharacters(in: .whitespacesAndNewlines)
        return token.isEmpty ? nil : token
    }
}

struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Tokens, erasure, redaction, projection rebuilds and the access audit (admins).",
                                                    subcommands: [TokenCommand.self, Erase.self, Redact.self, Rebuild.self, Audit.self])

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
