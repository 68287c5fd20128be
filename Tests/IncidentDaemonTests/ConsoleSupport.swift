import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IncidentStore
import NIOCore
import Testing

@testable import IncidentDaemon

/// A browser's part of a console test: it keeps the cookies it is given and sends them back, and
/// follows nothing by itself (each redirect is checked where it happens).
final class ConsoleBrowser: @unchecked Sendable {
    // Used from one test task at a time.
    let client: any TestClientProtocol
    var cookies: [String: String] = [:]

    init(_ client: any TestClientProtocol) { self.client = client }

    struct Page {
        var status: Int
        var headers: HTTPFields
        var body: String
        var location: String? { headers[.location] }

        /// The value of the hidden form field `name` (the first one on the page).
        func hidden(_ name: String) -> String? {
            guard let range = body.range(of: #"name="\#(name)" value=""#) else { return nil }
            return String(body[range.upperBound...].prefix { $0 != "\"" })
        }
    }

    func get(_ path: String) async throws -> Page { try await send(.get, path, body: nil) }

    func post(_ path: String, _ form: [String: String]) async throws -> Page {
        let encoded = form.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)" }
        return try await send(.post, path, body: encoded.joined(separator: "&"))
    }

    /// Signs in with `token` through the form, as a person would.
    func signIn(_ token: String) async throws -> Page {
        let form = try await get("/login")
        return try await post("/login", ["csrf": form.hidden("csrf") ?? "", "token": token, "next": "/"])
    }

    private func send(_ method: HTTPRequest.Method, _ path: String, body: String?) async throws -> Page {
        var headers: HTTPFields = [:]
        if !cookies.isEmpty { headers[.cookie] = cookies.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
        if body != nil { headers[.contentType] = "application/x-www-form-urlencoded" }
        let response = try await client.execute(uri: path, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) })
        for header in response.headers[values: .setCookie] {
            let pair = header.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(pair[0]), value = pair.count > 1 ? String(pair[1]) : ""
            if value.isEmpty || header.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = value }
        }
        return Page(status: Int(response.status.code), headers: response.headers, body: String(buffer: response.body))
    }
}
