import AsyncHTTPClient
import Foundation
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

    var errorMessage: String {
        if let error = json?["error"] as? [String: Any] {
            var text = (error["message"] as? String) ?? "error \(status)"
            if let details = error["details"] as? [String: Any], let fields = details["fields"] as? [[String: Any]], fields.count > 1 {
                text = fields.compactMap { f in (f["field"] as? String).map { "\($0): \(f["message"] as? String ?? "")" } }.joined(separator: "\n  ")
                text = "rejected:\n  " + text
            }
            return text
        }
        return String(decoding: body.prefix(300), as: UTF8.self)
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
