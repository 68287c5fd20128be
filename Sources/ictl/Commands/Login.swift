import ArgumentParser
import Foundation
import NIOHTTP1

struct Login: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Save the server, the token and the server's outbox key (mode 0600) after checking them.",
        usage: "ictl login [--server <url>] [--token <token> | --token-stdin] [<options>]",
        discussion: """
            The token is checked against the server before anything is saved.

            Examples:
              ictl login --server https://incidents.example.org --token-stdin < token
              printf '%s\\n' "$TOKEN" | ictl login --token-stdin
            """
    )
    @Option(help: "incidentd URL (ICTL_SERVER if omitted, else http://127.0.0.1:8080).") var server: String?
    @Option(help: "The API token (ICTL_TOKEN if omitted). On a shared machine prefer --token-stdin: a command line is visible to every user.") var token: String?
    @Flag(help: "Read the token from standard input (its first line), not from the command line.") var tokenStdin = false
    @Option(
        help: ArgumentHelp("For an https server: the CA certificates (PEM) to trust instead of the system's (ICTL_CA_FILE if omitted); saved too.", valueName: "file"))
    var caFile: String?
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
