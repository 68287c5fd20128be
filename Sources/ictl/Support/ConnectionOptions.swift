import ArgumentParser
import Foundation
import NIOHTTP1

/// How to reach the daemon, shared by every command.
struct ConnectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("incidentd URL (also ICTL_SERVER; default http://127.0.0.1:8080).", valueName: "url"))
    var server: String?

    @Option(help: ArgumentHelp("API token (also ICTL_TOKEN, or the one `ictl login` saved).", valueName: "token"))
    var token: String?

    @Option(
        help: ArgumentHelp(
            "For an https server: trust only the CA certificates in this PEM file (also ICTL_CA_FILE, or the one `ictl login` saved); default: the system's CAs.",
            valueName: "file"))
    var caFile: String?

    @Flag(
        help:
            "Send to a plain http:// server that is not this machine (also ICTL_INSECURE=1); refused without it, as the token and reports would cross the network unencrypted."
    )
    var insecure = false

    /// The client for the server these options name; every command gets its client here.
    /// - Throws: ``CLIError`` (64) for plain http to another machine without `--insecure`.
    var client: Client {
        get throws {
            let stored = (FileManager.default.contents(atPath: Paths.config)).flatMap { try? JSONDecoder().decode(StoredConfig.self, from: $0) }
            let environment = ProcessInfo.processInfo.environment
            let server = server ?? environment["ICTL_SERVER"].flatMap { $0.isEmpty ? nil : $0 } ?? stored?.server ?? "http://127.0.0.1:8080"
            let token = token ?? environment["ICTL_TOKEN"].flatMap { $0.isEmpty ? nil : $0 } ?? stored?.token
            let caFile = caFile ?? environment["ICTL_CA_FILE"].flatMap { $0.isEmpty ? nil : $0 } ?? stored?.caFile
            // What `ictl login --insecure` accepted holds for the server it saved, not for another.
            let accepted = stored?.insecure == true && stored?.server == server
            return try Client(server: server, token: token, caFile: caFile, insecure: insecure || Client.insecureFromEnvironment || accepted)
        }
    }
}
