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

    /// The error the answer carries, if its body is one.
    var error: ErrorBody.Failure? { ErrorBody(decoding: body)?.error }

    var errorMessage: String {
        guard let error else { return String(decoding: body.prefix(300), as: UTF8.self) }
        guard error.fields.count > 1 else { return error.message }
        return "rejected:\n  " + error.fields.map { "\($0.field): \($0.message)" }.joined(separator: "\n  ")
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
