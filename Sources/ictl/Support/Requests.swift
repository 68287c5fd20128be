import ArgumentParser
import Foundation
import NIOHTTP1

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
    try response.succeeded()
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
        try queue(
            client, path: path, data: data, idempotencyKey: idempotencyKey, command: command, incidentID: incidentID,
            why: "the daemon at \(client.server): \(error.explanation)")
        return
    }
    if response.status == 503 || response.status == 408 {
        let why = response.status == 503 ? "the daemon's database is unavailable" : "the connection stalled while sending"
        try queue(client, path: path, data: data, idempotencyKey: idempotencyKey, command: command, incidentID: incidentID, why: why)
        return
    }
    try response.succeeded()
    if let id = response.json?["incident_id"] as? String { print(id) }
    if response.status == 200 { note("already stored (an earlier send of the same request); nothing was written twice") }
    await flushOutbox(client)
}

/// Seals the write to the server's stored outbox key and keeps it in the outbox (exit 75).
/// Without a stored key nothing is written: exit 69.
private func queue(_ client: Client, path: String, data: Data, idempotencyKey: String?, command: String, incidentID: String?, why: String) throws {
    guard let key = client.storedOutboxKey else {
        throw CLIError(
            code: Exit.unreachable,
            message:
                "\(why); ictl holds no outbox key of this server to seal the request with, so nothing was kept: log in once while online (`ictl login`), then writes made offline wait sealed in the outbox"
        )
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
