import Foundation
import IncidentAPI
import NIOHTTP1

/// Writes that could not reach the daemon, kept on disk sealed to the server's outbox key
/// (docs/cli.md, ictl outbox): no request body is ever written in plain text.
///
/// Each entry is one file (`<id>.json`), written to a temporary name and renamed (never
/// half-written), holding the sealed envelope and only what `outbox list` shows: when it was
/// queued, the command, the incident id, the attempts and the last error (an HTTP status and error
/// code, never a message, which could quote the body). Sync sends entries oldest first to
/// `POST /v1/outbox:deliver` and deletes a file only after the daemon answered it, so a crash
/// mid-sync loses nothing; a resend is the same envelope with the same inner idempotency key, so
/// nothing is stored twice. Rejected entries move, still sealed, to `rejected/`, and are deleted
/// 30 days later (at any use of the outbox) or by `outbox purge`.
struct Outbox {
    struct Entry: Codable {
        var id: String
        var queuedAt: Date
        /// report, amend, verify, reject or retract.
        var command: String
        var incidentID: String?
        /// Sends that got no answer, or one that kept the entry (401, 403, 408, 503, 5xx).
        var attempts = 0
        var lastError: String?
        var rejectedAt: Date?
        /// The sealed envelope, exactly as it is sent.
        var envelope: Data

        enum CodingKeys: String, CodingKey {
            case id, command, attempts, envelope
            case queuedAt = "queued_at"
            case incidentID = "incident_id"
            case lastError = "last_error"
            case rejectedAt = "rejected_at"
        }

        /// What the entry is, for messages: `report <id>`.
        var label: String { command + (incidentID.map { " " + $0 } ?? "") }
    }

    /// Rejected entries are kept this long, then deleted.
    static let rejectedKeptFor: TimeInterval = 30 * 86_400

    let directory: String

    /// The outbox, with rejected entries older than 30 days deleted (a directory scan), and
    /// entries an older ictl kept in plain text sealed to `key` (the stored one by default).
    static func opened(_ directory: String = Paths.outbox, sealingOlderEntriesTo key: OutboxKey? = StoredConfig.load()?.outboxKey) -> Outbox {
        let outbox = Outbox(directory: directory)
        outbox.tidy()
        outbox.sealOlderEntries(to: key)
        return outbox
    }

    private init(directory: String) { self.directory = directory }

    var rejectedDirectory: String { directory + "/rejected" }

    func add(command: String, incidentID: String?, envelope: Data) throws -> Entry {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let now = Date()
        let id = String(format: "%.6f", now.timeIntervalSince1970).replacingOccurrences(of: ".", with: "") + "-" + UUID().uuidString.prefix(8).lowercased()
        let entry = Entry(id: id, queuedAt: now, command: command, incidentID: incidentID, envelope: envelope)
        try write(entry, to: directory)
        return entry
    }

    /// Queued entries, oldest first.
    func entries() -> [Entry] { read(directory) }

    /// Rejected entries, oldest first.
    func rejected() -> [Entry] { read(rejectedDirectory) }

    /// Deletes every rejected entry now.
    /// - Returns: how many were deleted.
    func purgeRejected() -> Int {
        names(in: rejectedDirectory).filter { unlink(rejectedDirectory + "/" + $0) == 0 }.count
    }

    struct SyncResult {
        var delivered: [(Entry, APIResponse)] = []
        var rejected: [(Entry, APIResponse)] = []
        var remaining = 0
    }

    /// Sends what is queued, oldest first; stops at the first entry that gets no answer, or an
    /// answer that is not the entry's fault. One sync at a time: another waits (`wait`) or
    /// returns at once with nothing done. `progress` counts the entries sent.
    func sync(with client: Client, wait: Bool = true, progress: Progress? = nil) async throws -> SyncResult {
        var result = SyncResult()
        guard let lock = lock(wait: wait) else { return result }
        defer { if lock >= 0 { close(lock) } }
        let pending = entries()
        for (index, entry) in pending.enumerated() {
            let response: APIResponse
            do {
                response = try await client.send(.POST, "/v1/outbox:deliver", json: entry.envelope)
            } catch let error as Client.Unreachable {
                record(entry, error: error.tls ? "tls_handshake_failed" : "unreachable")
                result.remaining = pending.count - index
                return result
            }
            switch response.status {
            case 200..<300:
                remove(entry)
                result.delivered.append((entry, response))
            case 401, 408, 429, 503, 500...:
                // Not the entry's fault (the token, the link, the load, the server): keep it for a
                // later sync. A 403 is the entry's: its write is one the role may not make.
                record(entry, error: Self.errorCode(response))
                result.remaining = pending.count - index
                return result
            default:
                try reject(entry, error: Self.errorCode(response))
                result.rejected.append((entry, response))
            }
            progress?.update(index + 1)
        }
        return result
    }

    /// An answer as the entry may keep it: the status and the error's code (server-chosen
    /// identifiers, never text from the request).
    static func errorCode(_ response: APIResponse) -> String {
        let code = response.error?.code ?? ""
        let safe = String(code.unicodeScalars.filter { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "_" }.prefix(64))
        return safe.isEmpty ? String(response.status) : "\(response.status) \(safe)"
    }

    private func remove(_ entry: Entry) {
        unlink(directory + "/" + entry.id + ".json")
    }

    private func record(_ entry: Entry, error: String) {
        var entry = entry
        entry.attempts += 1
        entry.lastError = error
        try? write(entry, to: directory)
    }

    /// Moves the entry, still sealed, to `rejected/`: written there first, then removed here, so a
    /// crash between the two leaves it in both (and the next sync rejects it again), never in neither.
    private func reject(_ entry: Entry, error: String) throws {
        var entry = entry
        entry.attempts += 1
        entry.lastError = error
        entry.rejectedAt = Date()
        try FileManager.default.createDirectory(atPath: rejectedDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try write(entry, to: rejectedDirectory)
        remove(entry)
    }

    private func write(_ entry: Entry, to directory: String) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.sortedKeys]
        try writePrivately(try encoder.encode(entry), to: directory + "/" + entry.id + ".json")
    }

    private func names(in directory: String) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasSuffix(".json") && !$0.hasPrefix(".") }.sorted()
    }

    private func read(_ directory: String) -> [Entry] {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return names(in: directory).compactMap { name in
            FileManager.default.contents(atPath: directory + "/" + name).flatMap { try? decoder.decode(Entry.self, from: $0) }
        }
    }

    /// Deletes rejected entries older than 30 days (by the time they were rejected: the file was
    /// written then) and temporary files a crash left behind more than an hour ago.
    private func tidy() {
        let now = Date()
        for (folder, suffix, age) in [(rejectedDirectory, ".json", Self.rejectedKeptFor), (directory, ".tmp", 3600), (rejectedDirectory, ".tmp", 3600)] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where name.hasSuffix(suffix) {
                guard let modified = (try? FileManager.default.attributesOfItem(atPath: folder + "/" + name))?[.modificationDate] as? Date else { continue }
                if now.timeIntervalSince(modified) > age { unlink(folder + "/" + name) }
            }
        }
    }

    /// An exclusive lock on the outbox (released by the kernel when the process dies, `kill -9`
    /// included): its descriptor, -1 when no lock file can be made (sync goes on without: a second
    /// sync at once only resends, and resends are replays); nil when `wait` is false and another
    /// process holds it.
    private func lock(wait: Bool) -> Int32? {
        let fd = open(directory + "/.lock", O_RDWR | O_CREAT, 0o600)
        guard fd >= 0 else { return -1 }
        guard flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB)) == 0 else {
            close(fd)
            return wait ? -1 : nil
        }
        return fd
    }

    /// An entry as ictl kept it before the outbox was sealed: the request in plain text.
    private struct OlderEntry: Decodable {
        var id: String
        var createdAt: Date
        var method: String
        var path: String
        var body: Data
        var idempotencyKey: String
    }

    /// Seals, in place, the entries an older ictl kept in plain text (rejected ones too), and
    /// deletes the reasons it kept beside rejected ones (they could quote the request). Without a
    /// key they stay as they are, and ictl says so.
    private func sealOlderEntries(to key: OutboxKey?) {
        var unsealed = 0
        for folder in [directory, rejectedDirectory] {
            for name in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where name.hasSuffix(".reason.txt") {
                unlink(folder + "/" + name)
            }
            for name in names(in: folder) {
                guard let data = FileManager.default.contents(atPath: folder + "/" + name),
                    let older = try? JSONDecoder().decode(OlderEntry.self, from: data)
                else { continue }
                guard let key,
                    let envelope = try? SealedEnvelope.seal(
                        method: older.method, path: older.path, idempotencyKey: older.idempotencyKey.isEmpty ? nil : older.idempotencyKey, body: older.body, to: key)
                else {
                    unsealed += 1
                    continue
                }
                let segments = older.path.split(separator: "/")
                let body = (try? JSONSerialization.jsonObject(with: older.body)) as? [String: Any]
                let command =
                    switch segments.last {
                    case "amendments": "amend"
                    case "verification": body?["decision"] as? String == "rejected" ? "reject" : "verify"
                    case "retraction": "retract"
                    default: "report"
                    }
                let incidentID = segments.count == 4 ? String(segments[2]) : body?["incident_id"] as? String
                var entry = Entry(id: older.id, queuedAt: older.createdAt, command: command, incidentID: incidentID, envelope: envelope)
                if folder == rejectedDirectory { entry.rejectedAt = Date() }
                try? write(entry, to: folder)
            }
        }
        if unsealed > 0 {
            note(
                "warning: \(unsealed) outbox entr\(unsealed == 1 ? "y" : "ies") from an older ictl are in plain text in \(directory); log in once while online (`ictl login`) to seal them"
            )
        }
    }
}
