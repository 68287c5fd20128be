import ArgumentParser
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

struct ImportRecord {
    var line: Int
    var json: String

    /// A UUID from the line's content: the same line always maps to the same incident.
    static func derivedID(_ content: String) -> String {
        var bytes = Array(SHA256.hash(data: Data(("import:" + content).utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x80
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let parts = [hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4), hex.dropFirst(16).prefix(4), hex.dropFirst(20)]
        return parts.joined(separator: "-")
    }

    static func encode(_ object: [String: Any]) -> String {
        String(decoding: (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8), as: UTF8.self)
    }
}
