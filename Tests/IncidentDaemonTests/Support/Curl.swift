import Foundation
import HTTPTypes
import HummingbirdTesting
import IncidentStore
import IncidentTesting
import Logging
import PostgresLibpq
import Testing

@testable import IncidentDaemon

/// One request with curl, from a source address of its choosing (`--interface 127.0.0.2`: the
/// loopback network is all of 127.0.0.0/8). Returns the status and the body.
/// A request of its own connection (the live test client has one connection, which serializes requests).
func curl(
    _ url: String, token: String?, from source: String = "127.0.0.1", method: String = "GET", body: (Data, String)? = nil, maxTime: Int = 20
) async throws -> (status: Int, body: String) {
    var arguments = ["-s", "--interface", source, "--max-time", String(maxTime), "-X", method, "-w", "\n%{http_code}", url]
    if let token { arguments += ["-H", "Authorization: Bearer \(token)"] }
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("curl-body-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: file) }
    if let (data, type) = body {
        try data.write(to: file)
        arguments += ["-H", "Content-Type: \(type)", "--data-binary", "@" + file.path]
    }
    let result = try await run("/usr/bin/curl", arguments, environment: [:])
    let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
    return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
}
