import Foundation
import NIOCore
import NIOHTTP1

extension StoredConfig {
    /// The config file `ictl login` wrote, nil when there is none (or it does not parse).
    static func load(from path: String = Paths.config) -> StoredConfig? {
        FileManager.default.contents(atPath: path).flatMap { try? JSONDecoder().decode(StoredConfig.self, from: $0) }
    }

    /// Writes the config (mode 0600) to a temporary file and renames it over the old one: a crash
    /// leaves the old config or the new one, never half of one (it holds the token).
    func save(to path: String = Paths.config) throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        try writePrivately(try encoder.encode(self), to: path)
    }
}

/// Writes `data` to `path` through a temporary file in the same directory, readable by the user
/// only (mode 0600) and flushed to disk before it is renamed into place.
/// - Throws: ``CLIError`` when it cannot be written.
func writePrivately(_ data: Data, to path: String) throws {
    let directory = (path as NSString).deletingLastPathComponent
    let temporary = directory + "/." + (path as NSString).lastPathComponent + "." + UUID().uuidString.prefix(8).lowercased() + ".tmp"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
    guard fd >= 0 else { throw CLIError(code: Exit.other, message: "cannot write \(path): \(String(cString: strerror(errno)))") }
    let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    let flushed = fsync(fd) == 0
    close(fd)
    guard written == data.count, flushed, rename(temporary, path) == 0 else {
        let reason = String(cString: strerror(errno))
        unlink(temporary)
        throw CLIError(code: Exit.other, message: "cannot write \(path): \(reason)")
    }
}

extension Client {
    /// Asks the server for its outbox key.
    /// - Throws: ``Unreachable``, or ``CLIError`` when the answer is not a key ictl can seal to.
    func fetchOutboxKey() async throws -> OutboxKey {
        let response = try await exchange(.GET, "/v1/outbox-key", timeout: .seconds(10))
        guard response.status == 200 else { throw CLIError(code: response.exitCode, message: "the server gave no outbox key: \(response.errorMessage)") }
        guard let key = response.json.flatMap({ OutboxKey(answer: $0) }) else {
            throw CLIError(code: Exit.other, message: "the server's outbox key is not one ictl can seal to (suite \(SealedEnvelope.suite))")
        }
        return key
    }

    /// Keeps the stored outbox key current at no cost: every successful answer names the server's
    /// current key (`Outbox-Key-Id`), and only when it is not the one stored is the key fetched.
    /// Only a config that `ictl login` wrote is updated; failures are silent (the next success
    /// tries again).
    func refreshOutboxKey(after response: APIResponse) async {
        // Only the logged-in server's key: an answer from a server given by --server or
        // ICTL_SERVER must not re-point the laptop's outbox to it.
        guard (200..<300).contains(response.status), let named = response.outboxKeyID,
              var config = StoredConfig.load(), config.server.map(Self.sameServer(server)) == true
        else { return }
        if config.outboxKey?.keyID == named { return }
        guard let key = try? await fetchOutboxKey() else { return }
        config = StoredConfig.load() ?? config
        config.outboxKey = key
        try? config.save()
    }

    /// Two spellings of one server URL (a trailing slash, the scheme's and host's case).
    static func sameServer(_ a: String) -> (String) -> Bool {
        { b in
            let normal = { (url: String) in url.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "/")) }
            return normal(a) == normal(b)
        }
    }

    /// The stored outbox key, nil when ictl never logged in while online.
    var storedOutboxKey: OutboxKey? { StoredConfig.load()?.outboxKey }
}
