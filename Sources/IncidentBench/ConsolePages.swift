import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Signs in to the web console through its form, as a browser does: the sign-in page's form
/// token and cookie, then the POST. Returns the `Cookie` header of the session.
func consoleSession(_ client: HTTPClient, _ target: Target) async throws -> String {
    let form = try await client.execute(HTTPClientRequest(url: target.url + "/login"), timeout: .seconds(30))
    let page = String(buffer: try await form.body.collect(upTo: 1 << 20))
    guard let login = cookie(named: "il_login", in: form.headers[canonicalForm: "set-cookie"].map(String.init)),
        let start = page.range(of: #"name="csrf" value=""#), let end = page[start.upperBound...].firstIndex(of: "\"")
    else { throw ValidationError("the console's sign-in page has no form token") }
    var request = HTTPClientRequest(url: target.url + "/login")
    request.method = .POST
    request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
    request.headers.add(name: "Cookie", value: "il_login=" + login)
    let token = target.token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
    request.body = .bytes(ByteBuffer(string: "csrf=\(page[start.upperBound..<end])&token=\(token)&next=%2F"))
    let answer = try await client.execute(request, timeout: .seconds(30))
    guard answer.status == .seeOther, let session = cookie(named: "il_session", in: answer.headers[canonicalForm: "set-cookie"].map(String.init)) else {
        throw ValidationError("signing in to the console answered \(answer.status)")
    }
    return "il_session=" + session
}

/// GETs a console page with the session; anything but a 200 page is an error.
func getPage(_ client: HTTPClient, _ target: Target, _ path: String, cookie: String) async throws {
    var request = HTTPClientRequest(url: target.url + path)
    request.headers.add(name: "Cookie", value: cookie)
    let response = try await client.execute(request, timeout: .seconds(30))
    _ = try await response.body.collect(upTo: 64 << 20)
    guard response.status == .ok else { throw ValidationError("GET \(path): \(response.status)") }
}

private func cookie(named name: String, in headers: [String]) -> String? {
    for header in headers {
        let pair = header.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
        if pair.count == 2, pair[0] == name { return String(pair[1]) }
    }
    return nil
}
