import ArgumentParser
import Foundation

/// The items of a paged listing (`{items, next_cursor}`) at `path` with the filters that are
/// set: the first page, or every page when `all`; and the cursor after the last one read.
func pages(_ client: Client, _ path: String, limit: Int, all: Bool, filters: [(String, String?)]) async throws -> (items: [[String: Any]], cursor: String?) {
    var items: [[String: Any]] = []
    var cursor: String?
    repeat {
        let parameters = [("limit", String(limit))] + (filters + [("cursor", cursor)]).compactMap { key, value in value.map { (key, $0) } }
        let queryString = parameters.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
        let response = try await query(client, path + "?" + queryString)
        items += response.objects("items")
        cursor = response.json?["next_cursor"] as? String
    } while all && cursor != nil
    return (items, cursor)
}
