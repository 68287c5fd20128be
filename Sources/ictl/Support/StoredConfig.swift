import AsyncHTTPClient
import Foundation
import IncidentTransport
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

struct StoredConfig: Codable {
    var server: String?
    var token: String?
    /// The CA certificates (PEM) to trust for an https server, instead of the system's.
    var caFile: String?
    /// `ictl login --insecure` accepted plain http to `server` (and to no other server).
    var insecure: Bool?
    /// The server's key that queued writes are sealed to (`GET /v1/outbox-key`).
    var outboxKey: OutboxKey?

    enum CodingKeys: String, CodingKey {
        case server, token, insecure
        case caFile = "ca_file"
        case outboxKey = "outbox_key"
    }
}

extension StoredConfig {
    /// The config file `ictl login` wrote, nil when there is none (or it does not parse).
    static func load(from path: String = Paths.config) -> StoredConfig? {
        FileManager.default.contents(atPath: path).flatMap { try? JSONDecoder().decode(StoredConfig.self, from: $0) }
    }

    /// Writes the config (mode 0600) to a temporary file and renames it over the old one: a crash
    /// leaves the old config or the new one, never half of one (it holds the token).
    func save(to path: String = Paths.config) throws {
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try writePrivately(try encoder.encode(self), to: path)
    }
}
