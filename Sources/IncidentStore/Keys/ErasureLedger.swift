import Foundation
import PostgresLibpq

/// Every erasure and redaction, recorded beside the master key (`<master key file>.erasures`),
/// so that restoring a database backup made before one cannot bring the data back: `serve` and
/// `incidentd restore` destroy every key listed here before answering anything.
///
/// One JSON line per erasure, appended and flushed before the key is destroyed in the database
/// (a crash between the two erases at the next start, as was asked). It holds incident ids and
/// times, never a reason or any text of the incident.
public struct ErasureLedger: Sendable {
    public enum Kind: String, Sendable, Codable {
        /// The incident's personal data key was destroyed.
        case personalData = "personal_data"
        /// The incident's narrative key (up to `generation`) was destroyed.
        case narrative
    }

    public struct Entry: Sendable, Codable, Equatable {
        public var at: Date
        public var incidentID: UUID
        public var kind: Kind
        /// For narrative redactions: the generations up to this one are destroyed.
        public var generation: Int?

        enum CodingKeys: String, CodingKey { case at, incidentID = "incident_id", kind, generation }

        public init(at: Date = Date(), incidentID: UUID, kind: Kind, generation: Int? = nil) {
            (self.at, self.incidentID, self.kind, self.generation) = (at, incidentID, kind, generation)
        }
    }

    public let path: String

    public init(path: String) { self.path = path }

    /// Appends one entry and waits until it is on disk.
    /// - Throws: `CocoaError` when the ledger cannot be written: then nothing may be erased.
    public func append(_ entry: Entry) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let line = try encoder.encode(entry) + [UInt8(ascii: "\n")]
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o600)
        guard fd >= 0 else { throw Self.failure(path) }
        defer { close(fd) }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count, fsync(fd) == 0 else { throw Self.failure(path) }
    }

    /// Every entry, oldest first; none when there is no ledger yet. A line that does not parse
    /// (a torn last write) is skipped.
    public func entries() throws -> [Entry] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        guard let data = FileManager.default.contents(atPath: path) else { throw Self.failure(path) }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return data.split(separator: UInt8(ascii: "\n")).compactMap { try? decoder.decode(Entry.self, from: Data($0)) }
    }

    /// Appends the entries the ledger does not hold yet (the same incident, kind and generation).
    /// - Returns: how many it appended.
    @discardableResult
    public func merge(_ entries: [Entry]) throws -> Int {
        func identity(_ entry: Entry) -> String { "\(entry.incidentID)|\(entry.kind.rawValue)|\(entry.generation ?? 0)" }
        var held = Set(try self.entries().map(identity))
        var appended = 0
        for entry in entries where held.insert(identity(entry)).inserted {
            try append(entry)
            appended += 1
        }
        return appended
    }

    /// Every erasure and redaction the database records (for ``merge(_:)``): a ledger that has
    /// missed some, written by another host or before a rotation, is completed at each start.
    public static func recorded(in connection: PostgresConnection) throws -> [Entry] {
        var entries = try connection.query("SELECT incident_id, erased_at FROM personal_data_erasures ORDER BY erased_at").rows.map { row in
            Entry(at: try row.decode(1), incidentID: try row.decode(0), kind: .personalData)
        }
        entries += try LogReads.redactions(on: connection).map { Entry(at: $0.at, incidentID: $0.incidentID, kind: .narrative, generation: $0.generation) }
        return entries
    }

    private static func failure(_ path: String) -> CocoaError {
        CocoaError(
            .fileWriteUnknown,
            userInfo: [NSFilePathErrorKey: path, NSLocalizedDescriptionKey: "cannot write the erasure ledger \(path): \(String(cString: strerror(errno)))"])
    }
}
