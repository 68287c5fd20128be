import Foundation
import NIOHTTP1

/// Writes that could not reach the daemon, kept on disk with their idempotency keys.
///
/// Each entry is one file, written to a temporary name and renamed (never half-written). Sync
/// sends entries oldest first and deletes a file only after the daemon answered it, so a crash
/// mid-sync loses nothing; a resend carries the same idempotency key, so nothing is stored twice.
struct Outbox {
    struct Entry: Codable {
        var id: String
        var createdAt: Date
        var method: String
        var path: String
        var body: Data
        var idempotencyKey: String
        var summary: String
    }

    let directory: String

    init(directory: String = Paths.outbox) { self.directory = directory }

    var failedDirectory: String { directory + "/rejected" }

    func add(method: HTTPMethod, path: String, body: Data, idempotencyKey: String, summary: String) throws -> Entry {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let now = Date()
        let id = String(format: "%.6f", now.timeIntervalSince1970).replacingOccurrences(of: ".", with: "") + "-" + UUID().uuidString.prefix(8).lowercased()
        let entry = Entry(id: id, createdAt: now, method: method.rawValue, path: path, body: body, idempotencyKey: idempotencyKey, summary: summary)
        let data = try JSONEncoder().encode(entry)
        let temporary = directory + "/." + id + ".tmp"
        guard FileManager.default.createFile(atPath: temporary, contents: data, attributes: [.posixPermissions: 0o600]) else {
            throw CLIError(code: Exit.other, message: "cannot write the outbox in \(directory)")
        }
        let handle = FileHandle(forWritingAtPath: temporary)
        try handle?.synchronize()
        try handle?.close()
        guard rename(temporary, directory + "/" + id + ".json") == 0 else {
            throw CLIError(code: Exit.other, message: "cannot write the outbox in \(directory)")
        }
        return entry
    }

    func entries() -> [Entry] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".json") }.sorted()
        return names.compactMap { name in
            FileManager.default.contents(atPath: directory + "/" + name).flatMap { try? JSONDecoder().decode(Entry.self, from: $0) }
        }
    }

    func remove(_ entry: Entry) {
        unlink(directory + "/" + entry.id + ".json")
    }

    func moveToRejected(_ entry: Entry, reason: String) {
        try? FileManager.default.createDirectory(atPath: failedDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        rename(directory + "/" + entry.id + ".json", failedDirectory + "/" + entry.id + ".json")
        try? Data(reason.utf8).write(to: URL(fileURLWithPath: failedDirectory + "/" + entry.id + ".reason.txt"))
    }

    struct SyncResult {
        var delivered: [(Entry, APIResponse)] = []
        var rejected: [(Entry, APIResponse)] = []
        var remaining = 0
    }

    /// Sends what is queued, oldest first; stops at the first entry that gets no answer.
    func sync(with client: Client) async throws -> SyncResult {
        var result = SyncResult()
        let pending = entries()
        for (index, entry) in pending.enumerated() {
            let response: APIResponse
            do {
                response = try await client.send(HTTPMethod(rawValue: entry.method), entry.path, json: entry.body, idempotencyKey: entry.idempotencyKey.isEmpty ? nil : entry.idempotencyKey)
            } catch is Client.Unreachable {
                result.remaining = pending.count - index
                return result
            }
            switch response.status {
            case 200..<300:
                remove(entry)
                result.delivered.append((entry, response))
            case 401, 403, 408, 503, 500...:
                // Not the entry's fault: keep it for a later sync.
                result.remaining = pending.count - index
                return result
            default:
                moveToRejected(entry, reason: response.errorMessage)
                result.rejected.append((entry, response))
            }
        }
        return result
    }
}
