import AsyncHTTPClient
import Foundation
import IncidentAPI
import IncidentTransport
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// An answer from the daemon.
struct APIResponse {
    var status: Int
    var body: Data
    /// The server's current outbox key, as its `Outbox-Key-Id` header names it.
    var outboxKeyID: String? = nil
    /// Seconds to wait before asking again (`Retry-After` of a 429 or 503).
    var retryAfter: Int? = nil

    var json: [String: Any]? { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] }

    /// The objects listed under `key` in the answer's JSON (`subscriptions`, `tokens`, `events`);
    /// none when the key is missing.
    func objects(_ key: String) -> [[String: Any]] { json?[key] as? [[String: Any]] ?? [] }

    /// The error the answer carries, if its body is one.
    var error: ErrorBody.Failure? { ErrorBody(decoding: body)?.error }

    var errorMessage: String { errorMessage(naming: [:]) }

    /// What the answer's error says, each field it names shown as `flags` calls it (a command's
    /// flag for an API field: `filter.categories` -> `--category`).
    func errorMessage(naming flags: [String: String]) -> String {
        guard let error else { return String(decoding: body.prefix(300), as: UTF8.self) }
        let fields = error.fields.map { "\(flags[$0.field] ?? $0.field): \($0.message)" }
        if fields.count > 1 { return "rejected:\n  " + fields.joined(separator: "\n  ") }
        return flags.isEmpty || fields.isEmpty ? error.message : fields[0]
    }

    /// The answer itself when it is a 2xx; otherwise its exit code and ``errorMessage(naming:)``.
    @discardableResult
    func succeeded(naming flags: [String: String] = [:]) throws -> APIResponse {
        guard (200..<300).contains(status) else { throw CLIError(code: exitCode, message: errorMessage(naming: flags)) }
        return self
    }

    /// The exit code for a non-2xx answer.
    var exitCode: Int32 {
        switch status {
        case 400, 413, 422: Exit.rejected
        case 401, 403: Exit.notAuthorized
        case 404: Exit.notFound
        case 409: Exit.conflict
        default: Exit.other
        }
    }
}
