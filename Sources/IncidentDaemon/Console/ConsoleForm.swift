import Foundation
import Hummingbird

/// A submitted form (`application/x-www-form-urlencoded`), or a query string: names to values,
/// the first value of a repeated name.
struct ConsoleForm: Sendable {
    /// Forms are small: a note is at most 2,000 characters.
    static let maximumSize = 64 << 10

    var values: [String: String]

    subscript(name: String) -> String? { values[name] }

    /// A value with surrounding white space removed; nil when missing or blank.
    func text(_ name: String) -> String? {
        guard let value = values[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }

    init(encoded: Substring) {
        var values: [String: String] = [:]
        for pair in encoded.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decoded(_ part: Substring) -> String { part.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? "" }
            let name = decoded(parts[0])
            if values[name] == nil { values[name] = parts.count > 1 ? decoded(parts[1]) : "" }
        }
        self.values = values
    }

    /// The body of a form POST.
    static func read(_ request: Request) async throws -> ConsoleForm {
        var request = request
        let body = try await request.body(upTo: maximumSize, tooLarge: APIError(.contentTooLarge, code: "payload_too_large", message: "a form is at most 64 KiB"))
        return ConsoleForm(encoded: Substring(String(decoding: body, as: UTF8.self)))
    }

    /// The query string of a page request.
    static func query(_ request: Request) -> ConsoleForm {
        ConsoleForm(encoded: Substring(request.uri.query ?? ""))
    }
}
