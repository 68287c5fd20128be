import ArgumentParser
import Foundation
import NIOHTTP1

@main
struct ICtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ictl",
        abstract: "Report and query incidents in the Incident Log.",
        discussion: """
            Server and token come from --server/--token, ICTL_SERVER/ICTL_TOKEN, or the file that
            `ictl login` writes. Write commands print the affected incident id alone on stdout;
            messages go to stderr. When the daemon cannot be reached, writes are kept in an offline
            outbox (exit 75), sealed to the server's key, and sent by `ictl outbox sync` or the next
            successful command; log in once while online first (`ictl login` stores the key).
            Plain http:// goes only to this machine (localhost, 127.0.0.0/8, ::1); another
            server needs https://, or --insecure (ICTL_INSECURE=1) to send in the clear.

            Exit codes:
              0   ok
              64  usage error (also: plain http to another machine without --insecure)
              65  input rejected by the server (validation)
              66  not found
              69  daemon unreachable (for a write: and no server key stored to keep it offline)
              75  stored in the offline outbox
              76  conflict (stale expected version, idempotency conflict)
              77  not authorized (missing, revoked or expired token; role may not do this)
              1   anything else
            """,
        subcommands: [
            Report.self, Import.self, Amend.self, Verify.self, Reject.self, Retract.self, Show.self, List.self, Log.self, Tail.self,
            Summary.self, Digest.self, Regions.self, Taxonomy.self, OutboxCommand.self, Login.self, Admin.self,
        ]
    )
}

/// How to reach the daemon, shared by every command.
struct ConnectionOptions: ParsableArguments {
    @Option(help: ArgumentHelp("incidentd URL (also ICTL_SERVER; default http://127.0.0.1:8080).", valueName: "url"))
    var server: String?

    @Option(help: ArgumentHelp("API token (also ICTL_TOKEN, or the one `ictl login` saved).", valueName: "token"))
    var token: String?

    @Option(help: ArgumentHelp("For an https server: trust only the CA certificates in this PEM file (also ICTL_CA_FILE, or the one `ictl login` saved); default: the system's CAs.", valueName: "file"))
    var caFile: String?

    @Flag(help: "Send to a plain http:// server that is not this machine (also ICTL_INSECURE=1); refused without it, as the token and reports would cross the network unencrypted.")
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

enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    /// `hxl`: CSV with a row of HXL hashtags under the header, for humanitarian spreadsheets.
    case table, json, csv, hxl
}

struct FormatOption: ParsableArguments {
    @Option(help: "Output format: table, json, csv or hxl (default: table on a terminal, json otherwise).")
    var format: OutputFormat?

    var resolved: OutputFormat { format ?? (isatty(STDOUT_FILENO) == 1 ? .table : .json) }
}

/// Runs a command body, turning failures into one line on stderr and the documented exit code.
func runCommand(_ body: () async throws -> Void) async throws {
    do {
        try await body()
    } catch let error as CLIError {
        note(error.message)
        throw ExitCode(error.code)
    } catch let error as Client.Unreachable {
        note("the daemon: \(error.explanation)")
        throw ExitCode(Exit.unreachable)
    }
}

/// Reads from the daemon; on success, first delivers anything waiting in the outbox.
func query(_ client: Client, _ path: String, headers: [(String, String)] = []) async throws -> APIResponse {
    let response: APIResponse
    do {
        response = try await client.send(.GET, path, headers: headers)
    } catch let error as Client.Unreachable {
        let what = error.tls ? error.explanation : "cannot be reached"
        throw CLIError(code: Exit.unreachable, message: "the daemon at \(client.server): \(what) (\(error.reason.prefix(160)))")
    }
    guard (200..<300).contains(response.status) else { throw CLIError(code: response.exitCode, message: response.errorMessage) }
    await flushOutbox(client)
    return response
}

/// Sends a write; when the daemon cannot be reached (or its database is down), keeps it sealed in
/// the outbox with its idempotency key and exits 75. Prints the incident id alone on stdout.
/// - Parameter command: what `outbox list` calls it (report, amend, verify, reject, retract).
func write(_ client: Client, path: String, body: [String: Any], idempotencyKey: String?, command: String, incidentID: String?) async throws {
    let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
    let response: APIResponse
    do {
        response = try await client.send(.POST, path, json: data, idempotencyKey: idempotencyKey)
    } catch let error as Client.Unreachable {
        try queue(client, path: path, data: data, idempotencyKey: idempotencyKey, command: command, incidentID: incidentID, why: "the daemon at \(client.server): \(error.explanation)")
        return
    }
    if response.status == 503 || response.status == 408 {
        let why = response.status == 503 ? "the daemon's database is unavailable" : "the connection stalled while sending"
        try queue(client, path: path, data: data, idempotencyKey: idempotencyKey, command: command, incidentID: incidentID, why: why)
        return
    }
    guard (200..<300).contains(response.status) else { throw CLIError(code: response.exitCode, message: response.errorMessage) }
    if let id = response.json?["incident_id"] as? String { print(id) }
    if response.status == 200 { note("already stored (an earlier send of the same request); nothing was written twice") }
    await flushOutbox(client)
}

/// Seals the write to the server's stored outbox key and keeps it in the outbox (exit 75).
/// Without a stored key nothing is written: exit 69.
private func queue(_ client: Client, path: String, data: Data, idempotencyKey: String?, command: String, incidentID: String?, why: String) throws {
    guard let key = client.storedOutboxKey else {
        throw CLIError(code: Exit.unreachable, message: "\(why); ictl holds no outbox key of this server to seal the request with, so nothing was kept: log in once while online (`ictl login`), then writes made offline wait sealed in the outbox")
    }
    let envelope = try SealedEnvelope.seal(method: "POST", path: path, idempotencyKey: idempotencyKey, body: data, to: key)
    let entry = try Outbox.opened().add(command: command, incidentID: incidentID, envelope: envelope)
    note("\(why); kept sealed in the outbox (\(entry.id)); `ictl outbox sync` sends it")
    if let incidentID { print(incidentID) }
    throw ExitCode(Exit.queued)
}

/// Delivers queued writes after a successful contact; quiet when there are none.
func flushOutbox(_ client: Client) async {
    let outbox = Outbox.opened()
    guard !outbox.entries().isEmpty, let result = try? await outbox.sync(with: client, wait: false) else { return }
    if !result.delivered.isEmpty { note("outbox: delivered \(result.delivered.count) queued request(s)") }
    for (entry, response) in result.rejected { note("outbox: \(entry.label) was rejected: \(response.errorMessage) (kept sealed in \(outbox.rejectedDirectory))") }
}
