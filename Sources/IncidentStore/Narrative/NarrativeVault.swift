import Crypto
import Foundation
import PostgresLibpq

/// The free text of incidents — summary, place, perpetrator, target, and the reasons and notes of
/// later events — sealed in the immutable log under each incident's narrative key, so that a
/// redaction (destroying the key) makes it unreadable there for good.
///
/// The log keeps everything else in plain (figures, codes, dates). An event's stored data is its
/// plain data without the text members, plus `"narrative": {"g": generation, "sealed": base64}`:
/// the text members as JSON, sealed with ``Sealing`` (deterministic: a retry stores the same
/// bytes; bound to the incident and the event type). Opening puts them back, so every fold sees
/// the plain shape; text whose key was destroyed opens as ``redacted``.
public struct NarrativeVault: Sendable {
    /// What a text reads as once its key is destroyed, and what a redaction without a
    /// replacement puts in a field's place.
    public static let redacted = "[redacted]"
    /// The record's text fields (a redaction replaces these).
    public static let recordFields = ["summary", "place", "perpetrator", "target"]

    let keys: IncidentKeys

    public init(keys: KeyRing) { self.keys = IncidentKeys(ring: keys) }

    /// The members of each event type's data that are free text: the one statement of what the
    /// log seals. A path of two names is a member of an object member.
    static func textPaths(_ type: IncidentEvent.EventType) -> [[String]] {
        switch type {
        case .reported: recordFields.map { [$0] }
        case .amended: recordFields.map { ["changes", $0] } + [["reason"]]
        case .verified, .rejected: [["note"]]
        case .personalDataErased: [["reason"]]
        case .narrativeRedacted: [["replacement"], ["reason"]]
        case .retracted: []
        }
    }

    /// What a type's text reads as when it cannot be opened any more: its required members, each
    /// ``redacted`` (a redaction's texts come to a redacted summary).
    static func placeholder(_ type: IncidentEvent.EventType) -> [String: JSONValue] {
        switch type {
        case .reported: ["summary": .string(redacted)]
        case .amended, .personalDataErased: ["reason": .string(redacted)]
        case .verified, .rejected: ["note": .string(redacted)]
        case .narrativeRedacted: ["replacement": ["summary": .string(redacted)], "reason": .string(redacted)]
        case .retracted: [:]
        }
    }

    /// The narrative key of an incident to seal with: its latest generation.
    public struct Key: Sendable {
        public let incidentID: UUID
        public let generation: Int
        let bytes: Data

        var symmetric: SymmetricKey { SymmetricKey(data: bytes) }

        init(incidentID: UUID, generation: Int, key: SymmetricKey) {
            (self.incidentID, self.generation) = (incidentID, generation)
            bytes = key.withUnsafeBytes { Data($0) }
        }

        /// An HMAC of a request under this key: a retry's fingerprint matches, and the stored
        /// value says nothing about the request's text to whoever lacks the key.
        func fingerprint(_ request: Data) -> String {
            let key = KeyDerivation.derive(from: symmetric, info: "incident-log/v1/fingerprint")
            return HMAC<SHA256>.authenticationCode(for: request, using: key).hexString
        }
    }

    /// The incident's current narrative key, made on first use (in the caller's transaction).
    func currentKey(of incidentID: UUID, on connection: PostgresConnection) throws -> Key {
        if let (generation, key) = try keys.latest(.narrative, of: incidentID, on: connection) {
            return Key(incidentID: incidentID, generation: generation, key: key)
        }
        return Key(incidentID: incidentID, generation: 1, key: try keys.create(.narrative, of: incidentID, on: connection))
    }

    /// A new first-generation key for a new incident, and its wrapped form for the caller to store.
    func freshKey(of incidentID: UUID, under master: MasterKey) throws -> (key: Key, wrapped: WrappedKey) {
        let (key, wrapped) = try keys.fresh(.narrative, of: incidentID, under: master)
        return (Key(incidentID: incidentID, generation: 1, key: key), wrapped)
    }

    /// A new generation for a redaction: every older one is destroyed (in the caller's transaction).
    func replaceKey(of incidentID: UUID, after generation: Int, on connection: PostgresConnection) throws -> Key {
        try keys.destroy(.narrative, of: incidentID, on: connection)
        return Key(incidentID: incidentID, generation: generation + 1, key: try keys.create(.narrative, of: incidentID, generation: generation + 1, on: connection))
    }

    /// Destroys every generation of the incident's narrative key up to `generation`.
    func destroy(_ incidentID: UUID, upTo generation: Int, on connection: PostgresConnection) throws {
        try keys.destroy(.narrative, of: incidentID, upTo: generation, on: connection)
    }

    /// The texts a redaction leaves, decided once when it is made (and stored in its event, so
    /// that every fold, live or rebuilt, reads the same): each text field takes its replacement,
    /// or reads ``redacted`` when it had a value; the summary always has one.
    public static func textsAfterRedaction(of record: [String: JSONValue], replacement: [String: String]) -> [String: String] {
        var texts: [String: String] = [:]
        for field in recordFields {
            if let text = replacement[field] {
                texts[field] = text
            } else if record[field] != nil || field == "summary" {
                texts[field] = redacted
            }
        }
        return texts
    }

    /// What a `NarrativeRedacted` event does to a record: its text fields become the event's.
    public static func redact(_ record: inout [String: JSONValue], with texts: [String: String]) {
        for field in recordFields { record[field] = texts[field].map { .string($0) } }
    }

    // MARK: - Sealing and opening one event's data

    /// The stored form of an event's plain data: its text members sealed.
    static func seal(_ data: JSONValue, type: IncidentEvent.EventType, with key: Key) throws -> JSONValue {
        let paths = textPaths(type)
        guard !paths.isEmpty, var rest = data.objectValue else { return data }
        var texts: [String: JSONValue] = [:]
        for path in paths {
            if path.count == 1 {
                if let value = rest.removeValue(forKey: path[0]) { texts[path[0]] = value }
            } else if var inner = rest[path[0]]?.objectValue, let value = inner.removeValue(forKey: path[1]) {
                rest[path[0]] = .object(inner)
                var sealedInner = texts[path[0]]?.objectValue ?? [:]
                sealedInner[path[1]] = value
                texts[path[0]] = .object(sealedInner)
            }
        }
        let sealed = try Sealing.seal(JSONValue.object(texts).encoded(), with: key.symmetric, context: context(key.incidentID, type))
        rest["narrative"] = ["g": .number(Double(key.generation)), "sealed": .string(sealed.base64EncodedString())]
        return .object(rest)
    }

    /// The plain form of stored data: the sealed members put back, or ``redacted`` for the
    /// required ones when `key` is nil (destroyed). Data without a sealed part is returned as is.
    static func open(_ data: JSONValue, type: IncidentEvent.EventType, incidentID: UUID, key: (Int) -> SymmetricKey?) -> JSONValue {
        guard var rest = data.objectValue, let narrative = rest.removeValue(forKey: "narrative")?.objectValue else { return data }
        let generation = Int(narrative["g"]?.numberValue ?? 1)
        var texts: [String: JSONValue] = [:]
        if let key = key(generation), let sealed = narrative["sealed"]?.stringValue.flatMap({ Data(base64Encoded: $0) }),
            let plain = Sealing.open(sealed, with: key, context: context(incidentID, type)), let object = try? JSONValue.parse(plain).objectValue
        {
            texts = object
        } else {
            texts = placeholder(type)
        }
        for (member, value) in texts {
            if case .object(let inner) = value, case .object(var existing)? = rest[member] {
                for (name, text) in inner { existing[name] = text }
                rest[member] = .object(existing)
            } else {
                rest[member] = value
            }
        }
        return .object(rest)
    }

    static func context(_ incidentID: UUID, _ type: IncidentEvent.EventType) -> String {
        "narrative\0\(incidentID.postgresText)\0\(type.rawValue)"
    }

    // MARK: - Opening events and read-model rows

    /// An incident's stream with its text opened, oldest first.
    public func events(of incidentID: UUID, on connection: PostgresConnection) throws -> [RecordedEvent] {
        try open(EventStore.readStream(IncidentEvent.streamName(for: incidentID), on: connection), on: connection)
    }

    /// The events with their text opened (keys fetched in one query). Events from before sealed
    /// text hold it in plain in the log: once their incident is redacted, they read as redacted too.
    public func open(_ events: [RecordedEvent], on connection: PostgresConnection) throws -> [RecordedEvent] {
        let incidents = Set(events.compactMap { $0.data.objectValue?["narrative"] == nil ? nil : IncidentEvent.incidentID(fromStream: $0.stream) })
        let plain = Set(
            events.filter { $0.data.objectValue?["narrative"] == nil && IncidentEvent.EventType(rawValue: $0.type).map { !Self.textPaths($0).isEmpty } == true }.map(
                \.stream))
        guard !incidents.isEmpty || !plain.isEmpty else { return events }
        let found = try keys.all(.narrative, of: Array(incidents), on: connection)
        let redactedFrom = plain.isEmpty ? [:] : try LogReads.firstRedactions(of: Array(plain), on: connection)
        return events.map { event in
            guard let type = IncidentEvent.EventType(rawValue: event.type), let incidentID = IncidentEvent.incidentID(fromStream: event.stream) else { return event }
            var opened = event
            if event.data.objectValue?["narrative"] == nil {
                guard let from = redactedFrom[event.stream], event.streamVersion < from else { return event }
                opened.data = Self.masked(event.data, type: type)
            } else {
                opened.data = Self.open(event.data, type: type, incidentID: incidentID) { found[incidentID]?[$0] }
            }
            return opened
        }
    }

    /// Plain data with its text members taken out, and the placeholders of what it must have.
    static func masked(_ data: JSONValue, type: IncidentEvent.EventType) -> JSONValue {
        guard var object = data.objectValue else { return data }
        for path in textPaths(type) {
            if path.count == 1 {
                object[path[0]] = nil
            } else if var inner = object[path[0]]?.objectValue {
                inner[path[1]] = nil
                object[path[0]] = .object(inner)
            }
        }
        for (member, value) in placeholder(type) { object[member] = value }
        return .object(object)
    }

    /// The stored form of a read model's record: for a confidential incident, its text fields
    /// sealed as a report's are (the log's own sealed form when nothing changed); plain otherwise.
    func sealRecord(_ record: [String: JSONValue], with key: Key?) throws -> [String: JSONValue] {
        guard record["sensitivity"]?.stringValue == Sensitivity.confidential.rawValue, let key else { return record }
        return try Self.seal(.object(record), type: .reported, with: key).objectValue ?? record
    }

    /// Read-model records (or a report's stored data) with their text opened, keys fetched in one
    /// query; a record without sealed text comes back as it is.
    public func openRecords(_ rows: [(incidentID: UUID, record: JSONValue)], on connection: PostgresConnection) throws -> [JSONValue] {
        let sealed = rows.filter { $0.record.objectValue?["narrative"] != nil }.map(\.incidentID)
        let found = try keys.all(.narrative, of: Array(Set(sealed)), on: connection)
        return rows.map { row in Self.open(row.record, type: .reported, incidentID: row.incidentID) { found[row.incidentID]?[$0] } }
    }

    /// A report's sealed text as the log stores it (`narrative.g`, `narrative.sealed`).
    public struct SealedReport: Sendable {
        public var incidentID: UUID
        public var generation: Int
        /// Base64, as stored.
        public var sealed: String
    }

    /// The text members of sealed reports, each as the JSON object it was sealed as (keys fetched
    /// in one query; nothing parsed): the placeholders where a key was destroyed.
    func openTexts(of reports: [SealedReport], on connection: PostgresConnection) throws -> [String] {
        let found = try keys.all(.narrative, of: Array(Set(reports.map(\.incidentID))), on: connection)
        let placeholder = JSONValue.object(Self.placeholder(.reported)).encodedString
        return reports.map { report in
            guard let key = found[report.incidentID]?[report.generation], let sealed = Data(base64Encoded: report.sealed),
                let plain = Sealing.open(sealed, with: key, context: Self.context(report.incidentID, .reported))
            else { return placeholder }
            return String(decoding: plain, as: UTF8.self)
        }
    }

    /// The current keys of the given incidents, for ``sealRecord(_:with:)`` over a batch.
    func currentKeys(of incidents: [UUID], on connection: PostgresConnection) throws -> [UUID: Key] {
        var current: [UUID: Key] = [:]
        for (incidentID, generations) in try keys.all(.narrative, of: incidents, on: connection) {
            if let (generation, key) = generations.max(by: { $0.key < $1.key }) {
                current[incidentID] = Key(incidentID: incidentID, generation: generation, key: key)
            }
        }
        return current
    }

}
