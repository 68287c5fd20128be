import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1

/// The version the user named, else the incident's current one.
func resolvedVersion(_ named: Int?, _ client: Client, _ id: String) async throws -> Int {
    if let named { return named }
    return try await currentVersion(client, id)
}

/// The incident's current version, for writes that did not name one.
func currentVersion(_ client: Client, _ id: String) async throws -> Int {
    let response = try await query(client, "/v1/incidents/\(id)")
    guard let version = response.json?["version"] as? Int else { throw CLIError(code: Exit.other, message: "unexpected answer from the daemon") }
    return version
}
