import Foundation
import Logging
import PostgresLibpq

/// An event to append; `eventID` is its idempotency key.
public struct EventToAppend: Sendable, Equatable {
    public var eventID: UUID
    public var type: String
    public var schemaVersion: Int
    public var data: JSONValue
    public var metadata: EventMetadata

    public init(eventID: UUID, type: String, schemaVersion: Int, data: JSONValue, metadata: EventMetadata) {
        self.eventID = eventID
        self.type = type
        self.schemaVersion = schemaVersion
        self.data = data
        self.metadata = metadata
    }
}

/// Where an appended event landed.
public struct AppendResult: Sendable, Equatable {
    public var eventID: UUID
    public var streamVersion: Int
    public var globalPosition: Int64
    public var recordedAt: Date
    /// True when the event was already in the log (an idempotent retry): nothing was written.
    public var replayed: Bool
}

/// An event as stored in the log.
public struct RecordedEvent: Sendable, Equatable {
    public var globalPosition: Int64
    public var transactionID: UInt64
    public var eventID: UUID
    public var stream: String
    public var streamVersion: Int
    public var type: String
    public var schemaVersion: Int
    public var data: JSONValue
    public var metadata: EventMetadata
    public var recordedAt: Date

    /// The checkpoint just after this event.
    public var checkpoint: Checkpoint { Checkpoint(transactionID: transactionID, position: globalPosition) }
}

/// Why an append was refused. Never a raw SQL error, never a silent success.
public enum EventStoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The stream is not at the version the writer expected (someone wrote first).
    case versionConflict(stream: String, expected: Int, current: Int)
    /// The event id is in the log already with other content.
    case idempotencyConflict(eventID: UUID)

    public var description: String {
        switch self {
        case .versionConflict(let stream, let expected, let current):
            "\(stream) is at version \(current), not \(expected): reload it and try again"
        case .idempotencyConflict(let eventID):
            "event id \(eventID.lowercasedText) was already used for different content"
        }
    }
}

/// The append-only event log on PostgreSQL (docs/architecture.md, Concurrency rules).
///
/// Appends check the stream's version optimistically and are idempotent by event id; reads of the
/// whole log follow a ``Checkpoint`` in commit-safe order, so a reader never skips an event that
/// commits later with a lower position. No global lock is taken.
public struct EventStore: Sendable {
    public let pool: ConnectionPool

    public init(pool: ConnectionPool) { self.pool = pool }

    /// Appends `events` to `stream`, which must be at `expectedVersion` (0: the stream must not exist).
    ///
    /// Re-sending events whose ids are already stored with the same stream, type and data returns
    /// the original results (`replayed`) and writes nothing.
    /// - Returns: one result per event, in order.
    /// - Throws: ``EventStoreError`` on a version or idempotency conflict, ``DatabaseError`` otherwise.
    @discardableResult
    public func append(_ events: [EventToAppend], to stream: String, expectedVersion: Int) async throws -> [AppendResult] {
        try await pool.withConnection { connection in
            try Self.append(events, to: stream, expectedVersion: expectedVersion, on: connection)
        }
    }

    /// The same on a connection the caller holds (outside any transaction, or inside its own).
    public static func append(
        _ events: [EventToAppend], to stream: String, expectedVersion: Int, on connection: PostgresConnection
    ) throws -> [AppendResult] {
        guard !events.isEmpty else { return [] }
        let payload = JSONValue.array(
            events.map { event in
                .object([
                    "event_id": .string(event.eventID.lowercasedText),
                    "type": .string(event.type),
                    "schema_version": .number(Double(event.schemaVersion)),
                    "data": event.data,
                    "metadata": event.metadata.json,
                ])
            }
        ).encodedString

        if let replay = try replayed(events, stream: stream, payload: payload, on: connection) { return replay }
        let rows: [Row]
        do {
            // One event cannot be half-stored, so a conflict may simply insert nothing: no error,
            // and a caller's transaction stays usable (batches and grouped commits rely on it).
            // Several events must fail whole, so they keep the unique violation.
            rows = try connection.query(
                """
                INSERT INTO events (event_id, stream, stream_version, type, schema_version, data, metadata)
                SELECT (i.e->>'event_id')::uuid, $1, $2 + i.n, i.e->>'type', (i.e->>'schema_version')::int,
                       i.e->'data', i.e->'metadata'
                FROM jsonb_array_elements($3::jsonb) WITH ORDINALITY AS i(e, n)
                WHERE (SELECT coalesce(max(stream_version), 0) FROM events WHERE stream = $1) = $2
                ORDER BY i.n
                """ + (events.count == 1 ? " ON CONFLICT DO NOTHING" : "") + """

                    RETURNING event_id, stream_version, global_position, recorded_at
                    """, [stream, expectedVersion, payload]
            ).rows
        } catch let error as DatabaseError where error.isUniqueViolation {
            if error.constraint == "events_event_id_key" {
                // A concurrent retry of the same event won the race: answer as a replay (or conflict).
                if let replay = try replayed(events, stream: stream, payload: payload, on: connection) { return replay }
                throw EventStoreError.idempotencyConflict(eventID: events[0].eventID)
            }
            // Another writer appended the same version first, perhaps a concurrent retry of this very event.
            if let replay = try replayed(events, stream: stream, payload: payload, on: connection) { return replay }
            throw EventStoreError.versionConflict(stream: stream, expected: expectedVersion, current: try currentVersion(of: stream, on: connection))
        }
        guard rows.count == events.count else {
            // The stream moved on. If a concurrent retry of this event moved it, this is a replay.
            if let replay = try replayed(events, stream: stream, payload: payload, on: connection) { return replay }
            throw EventStoreError.versionConflict(stream: stream, expected: expectedVersion, current: try currentVersion(of: stream, on: connection))
        }
        return try rows.map { row in
            AppendResult(
                eventID: try row.decode(0), streamVersion: try row.decode(1), globalPosition: try row.decode(2),
                recordedAt: try row.decode(3), replayed: false
            )
        }.sorted { $0.streamVersion < $1.streamVersion }
    }

    /// The original results when every event is already stored with the same content; nil when
    /// none is stored; an idempotency conflict when any is stored with other content.
    private static func replayed(
        _ events: [EventToAppend], stream: String, payload: String, on connection: PostgresConnection
    ) throws -> [AppendResult]? {
        let rows = try connection.query(
            """
            SELECT e.event_id, e.stream_version, e.global_position, e.recorded_at,
                   (e.stream = $1 AND e.type = i.e->>'type' AND e.data = i.e->'data') AS same
            FROM jsonb_array_elements($2::jsonb) AS i(e)
            JOIN events e ON e.event_id = (i.e->>'event_id')::uuid
            """, [stream, payload]
        ).rows
        guard !rows.isEmpty else { return nil }
        for row in rows where try !row.decode(4, as: Bool.self) {
            throw EventStoreError.idempotencyConflict(eventID: try row.decode(0))
        }
        guard rows.count == events.count else {
            // Some of the events were stored before, with others: not the same request.
            throw EventStoreError.idempotencyConflict(eventID: try rows[0].decode(0))
        }
        return try rows.map { row in
            AppendResult(
                eventID: try row.decode(0), streamVersion: try row.decode(1), globalPosition: try row.decode(2),
                recordedAt: try row.decode(3), replayed: true
            )
        }.sorted { $0.streamVersion < $1.streamVersion }
    }

    /// The original result when `eventID` is stored for `stream` and `type` by the same request
    /// (its `request_fingerprint`, when one is given); nil when it is not stored. For events whose
    /// data is sealed, where equal requests store unequal ciphertexts.
    /// - Throws: ``EventStoreError/idempotencyConflict(eventID:)`` when it is stored for something else.
    public static func replayed(eventID: UUID, stream: String, type: String, fingerprint: String?, on connection: PostgresConnection) throws -> AppendResult? {
        guard
            let previous = try connection.query(
                """
                SELECT stream, type, stream_version, global_position, recorded_at, metadata->>'request_fingerprint' AS fingerprint
                FROM events WHERE event_id = $1
                """, [eventID]
            ).first
        else { return nil }
        let storedFingerprint = try previous.decodeIfPresent(5, as: String.self)
        guard try previous.decode(0, as: String.self) == stream, try previous.decode(1, as: String.self) == type,
            fingerprint == nil || storedFingerprint == fingerprint
        else { throw EventStoreError.idempotencyConflict(eventID: eventID) }
        return AppendResult(
            eventID: eventID, streamVersion: try previous.decode(2), globalPosition: try previous.decode(3),
            recordedAt: try previous.decode(4), replayed: true)
    }

    /// The stream's last version (0 when it does not exist).
    public static func currentVersion(of stream: String, on connection: PostgresConnection) throws -> Int {
        try connection.query("SELECT coalesce(max(stream_version), 0) FROM events WHERE stream = $1", [stream])
            .first?.decode(0) ?? 0
    }

    public func currentVersion(of stream: String) async throws -> Int {
        try await pool.withConnection { try Self.currentVersion(of: stream, on: $0) }
    }

    /// The columns `RecordedEvent(row:)` reads. The text casts get names of their own: an
    /// `ORDER BY transaction_id` would otherwise bind to the text output column and sort "1000"
    /// before "999" (this skipped events once; ordering always names `e.` columns).
    static let columns = """
        e.global_position, e.transaction_id::text AS transaction_id_text, e.event_id, e.stream, e.stream_version,
        e.type, e.schema_version, e.data::text AS data_text, e.metadata::text AS metadata_text, e.recorded_at
        """

    /// The commit-safe page after a checkpoint (`$1`, `$2`) of at most `$3` events: only events of
    /// transactions older than every transaction still running, in commit order.
    static let afterCheckpoint = """
        WHERE (e.transaction_id, e.global_position) > ($1::xid8, $2::bigint)
          AND e.transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY e.transaction_id, e.global_position
        LIMIT $3
        """

    /// A stream's events, oldest first.
    public func readStream(_ stream: String) async throws -> [RecordedEvent] {
        try await pool.withConnection { try Self.readStream(stream, on: $0) }
    }

    public static func readStream(_ stream: String, on connection: PostgresConnection) throws -> [RecordedEvent] {
        try connection.query("SELECT " + columns + " FROM events e WHERE e.stream = $1 ORDER BY e.stream_version", [stream])
            .rows.map(RecordedEvent.init(row:))
    }

    /// Up to `limit` events after `checkpoint`, in commit-safe order, and the checkpoint to ask from next.
    ///
    /// Only events of transactions older than every transaction still running are returned, so an
    /// event that commits later always sorts after the returned checkpoint: none is ever skipped.
    /// (A long-running writing transaction anywhere in the cluster delays reads; it never loses them.)
    public func read(after checkpoint: Checkpoint, limit: Int) async throws -> (events: [RecordedEvent], checkpoint: Checkpoint) {
        try await pool.withConnection { try Self.read(after: checkpoint, limit: limit, on: $0) }
    }

    public static func read(
        after checkpoint: Checkpoint, limit: Int, on connection: PostgresConnection
    ) throws -> (events: [RecordedEvent], checkpoint: Checkpoint) {
        let events = try connection.query(
            "SELECT " + columns + " FROM events e " + afterCheckpoint,
            [checkpoint.transactionID, checkpoint.position, max(1, limit)]
        ).rows.map(RecordedEvent.init(row:))
        return (events, events.last?.checkpoint ?? checkpoint)
    }
}

/// Where an event is in the log and what it is, without its data.
public struct EventHeading: Sendable, Equatable {
    public var globalPosition: Int64
    public var transactionID: UInt64
    public var stream: String
    public var streamVersion: Int
    public var type: String
    public var schemaVersion: Int

    public var checkpoint: Checkpoint { Checkpoint(transactionID: transactionID, position: globalPosition) }

    /// A report that opens an incident's stream (`IncidentReported`, version 1, of a schema this
    /// build reads); ``OpeningReports/predicate`` says the same in SQL.
    var opensIncident: Bool {
        streamVersion == 1 && type == IncidentEvent.EventType.reported.rawValue && IncidentEvent.EventType.reported.reads(schemaVersion: schemaVersion)
            && IncidentEvent.incidentID(fromStream: stream) != nil
    }
}

extension RecordedEvent {
    var heading: EventHeading {
        EventHeading(globalPosition: globalPosition, transactionID: transactionID, stream: stream, streamVersion: streamVersion, type: type, schemaVersion: schemaVersion)
    }
}

extension EventStore {
    /// The headings of the events ``read(after:limit:on:)`` would return: the same events, in the
    /// same order, without their data and metadata.
    static func readHeadings(after checkpoint: Checkpoint, limit: Int, on connection: PostgresConnection) throws -> [EventHeading] {
        try connection.query(
            "SELECT e.global_position, e.transaction_id::text AS transaction_id_text, e.stream, e.stream_version, e.type, e.schema_version"
                + " FROM events e " + afterCheckpoint,
            [checkpoint.transactionID, checkpoint.position, max(1, limit)]
        ).rows.map { row in
            EventHeading(
                globalPosition: try row.decode(0), transactionID: try row.decode(1), stream: try row.decode(2),
                streamVersion: try row.decode(3), type: try row.decode(4), schemaVersion: try row.decode(5)
            )
        }
    }

    /// The events at `positions`, in commit-safe order.
    static func read(at positions: [Int64], on connection: PostgresConnection) throws -> [RecordedEvent] {
        try connection.query(
            "SELECT " + columns + """
                 FROM events e WHERE e.global_position = ANY($1::bigint[])
                ORDER BY e.transaction_id, e.global_position
                """, [postgresArray(positions)]
        ).rows.map(RecordedEvent.init(row:))
    }
}

extension RecordedEvent {
    init(row: Row) throws {
        let metadataText: String = try row.decode(8)
        self.init(
            globalPosition: try row.decode(0),
            transactionID: try row.decode(1),
            eventID: try row.decode(2),
            stream: try row.decode(3),
            streamVersion: try row.decode(4),
            type: try row.decode(5),
            schemaVersion: try row.decode(6),
            data: try JSONValue.parse(Data(try row.decode(7, as: String.self).utf8)),
            metadata: EventMetadata(json: (try? JSONValue.parse(Data(metadataText.utf8))) ?? .null),
            recordedAt: try row.decode(9)
        )
    }
}

extension EventMetadata {
    /// Reads stored metadata (unknown keys are ignored, missing ones are nil).
    init(json: JSONValue) {
        let fields = json.objectValue ?? [:]
        self.init(
            principal: fields["principal"]?.stringValue, role: fields["role"]?.stringValue,
            requestID: fields["request_id"]?.stringValue, client: fields["client"]?.stringValue)
        requestFingerprint = fields["request_fingerprint"]?.stringValue
    }
}
