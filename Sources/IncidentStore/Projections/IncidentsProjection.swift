import Foundation
import PostgresLibpq

/// The `incidents` read model: the current state of each incident, for listing and filtering
/// without reading the log.
public struct IncidentsProjection: Projection {
    public static let name = "incidents"
    public var name: String { Self.name }
    public var tables: [String] { ["incidents"] }
    public let regions: RegionDirectory
    /// Opens the log's free text; seals it again in the rows of confidential incidents.
    public let narrative: NarrativeVault

    public init(regions: RegionDirectory, narrative: NarrativeVault) {
        self.regions = regions
        self.narrative = narrative
    }

    /// An incident's row, folded at the level of its JSON: the record as stored (canonical, without
    /// personal data), with the changes of each amendment merged in. Decoding and re-encoding whole
    /// records per event would be most of a rebuild's time.
    struct Row {
        var version: Int
        var status: IncidentStatus
        var record: [String: JSONValue]
        var reportedBy: String?
        var personalDataErased: Bool
        var reportedAt: Date
        var updatedAt: Date

        init(version: Int, status: IncidentStatus, record: [String: JSONValue], reportedBy: String?, personalDataErased: Bool, reportedAt: Date, updatedAt: Date) {
            (self.version, self.status, self.record, self.reportedBy) = (version, status, record, reportedBy)
            (self.personalDataErased, self.reportedAt, self.updatedAt) = (personalDataErased, reportedAt, updatedAt)
        }

        /// A later event (its text opened), as `IncidentState.apply` would fold it.
        mutating func apply(_ event: RecordedEvent) throws {
            guard let type = IncidentEvent.EventType(rawValue: event.type), type.reads(schemaVersion: event.schemaVersion) else {
                _ = try event.incidentEvent()  // throws the precise decoding error
                return
            }
            switch type {
            case .reported: throw EventDecodingError.firstEventNotReported(event.stream)
            case .amended:
                for (key, value) in event.data.objectValue?["changes"]?.objectValue ?? [:] where key != "personal" {
                    record[key] = value == .null ? nil : value
                }
            case .verified: status = .verified
            case .rejected: status = .rejected
            case .retracted: status = .retracted
            case .personalDataErased: personalDataErased = true
            case .narrativeRedacted:
                let replacement = event.data.objectValue?["replacement"]?.objectValue ?? [:]
                NarrativeVault.redact(&record, with: replacement.compactMapValues(\.stringValue))
            }
            version = event.streamVersion
            updatedAt = event.recordedAt
        }
    }

    /// What later events change, folded into the rows their reports made: one query loads the
    /// batch's incidents, the fold runs in memory, one statement writes every changed incident back.
    public func fold(_ events: [RecordedEvent], to tables: ProjectionTables, on connection: PostgresConnection) throws {
        let events = try narrative.open(events, on: connection)
        var order: [UUID] = []
        var eventsByIncident: [UUID: [RecordedEvent]] = [:]
        for event in events {
            guard let id = IncidentEvent.incidentID(fromStream: event.stream) else { continue }
            if eventsByIncident[id] == nil { order.append(id) }
            eventsByIncident[id, default: []].append(event)
        }
        let table = tables("incidents")
        let rows = try load(order, from: table, on: connection)
        var changed: [(UUID, Row)] = []
        for id in order {
            let events = eventsByIncident[id]!
            guard var row = rows[id] else {
                _ = try events[0].incidentEvent()  // an event this build cannot read says so precisely
                throw EventDecodingError.firstEventNotReported(events[0].stream)
            }
            let version = row.version
            for event in events where event.streamVersion > row.version { try row.apply(event) }
            if row.version != version { changed.append((id, row)) }
        }
        try save(changed, to: table, on: connection)
    }

    /// A report's row (the only place that says what it is): the sealed text of a
    /// confidential incident stays as the log has it; a non-confidential one's is opened here and
    /// travels with the statement, as the row holds it in plain (for search); a confidential report
    /// from before sealed text is sealed here, so the row never holds its text in plain.
    public func loadReports(_ reports: OpeningReports, to tables: ProjectionTables, on connection: PostgresConnection) throws -> Int {
        // Only the sealed member of the many, as plain columns (parsing whole records here was
        // most of a rebuild's time), the whole record of the few plain confidential ones.
        let rows = try connection.query(
            """
            SELECT e.global_position, \(IncidentEvent.incidentIDText(fromStreamColumn: "e.stream")) AS incident_id, e.data->'narrative'->>'g', e.data->'narrative'->>'sealed',
                   CASE WHEN e.data ? 'narrative' THEN NULL ELSE (e.data - 'personal')::text END AS record_text
            FROM
            """ + " " + reports.relation + """

                WHERE (e.data ? 'narrative') = (e.data->>'sensitivity' IS DISTINCT FROM 'confidential')
                """, reports.parameters
        ).rows
        var positions: [Int64] = []
        var sealed: [NarrativeVault.SealedReport] = []
        var plain: [(position: Int64, incidentID: UUID, record: [String: JSONValue])] = []
        for row in rows {
            if let text = try row.decodeIfPresent(3, as: String.self) {
                positions.append(try row.decode(0))
                sealed.append(.init(incidentID: try row.decode(1), generation: Int(try row.decodeIfPresent(2, as: String.self) ?? "1") ?? 1, sealed: text))
            } else {
                let record = try JSONValue.parse(Data(try row.decode(4, as: String.self).utf8))
                plain.append((try row.decode(0), try row.decode(1), record.objectValue ?? [:]))
            }
        }
        var texts = try narrative.openTexts(of: sealed, on: connection)
        for report in plain {
            let key = try narrative.currentKey(of: report.incidentID, on: connection)
            positions.append(report.position)
            texts.append(JSONValue.object((try narrative.sealRecord(report.record, with: key)).filter { $0.key == "narrative" }).encodedString)
        }
        let n = reports.parameters.count
        return try connection.query(
            "INSERT INTO " + tables("incidents") + """
                 (incident_id, version, status, category, subcategory, municipality, district,
                    occurred_at, occurred_day, sensitivity, reported_by, killed, injured, abducted, displaced, record,
                    personal_data_erased, reported_at, updated_at)
                SELECT \(IncidentEvent.incidentIDText(fromStreamColumn: "e.stream"))::uuid, e.stream_version, 'reported', e.data->>'category', e.data->>'subcategory',
                    coalesce(e.data->>'municipality', ''), coalesce(m.district_code, ''), e.data->>'occurred_at',
                    incident_day(e.data->>'occurred_at'), e.data->>'sensitivity', e.metadata->>'principal',
                    coalesce((e.data->>'killed')::numeric::int, 0), coalesce((e.data->>'injured')::numeric::int, 0),
                    coalesce((e.data->>'abducted')::numeric::int, 0), coalesce((e.data->>'displaced')::numeric::int, 0),
                    CASE WHEN t.texts IS NOT NULL THEN (e.data - ARRAY['personal', 'narrative', 'summary', 'place', 'perpetrator', 'target']) || t.texts
                         WHEN e.data ? 'personal' THEN e.data - 'personal' ELSE e.data END,
                    false, e.recorded_at, e.recorded_at
                FROM
                """ + " " + reports.relation + " LEFT JOIN municipalities m ON m.code = e.data->>'municipality'"
                + " LEFT JOIN jsonb_to_recordset($\(n + 1)::jsonb) AS t(position bigint, texts jsonb) ON t.position = e.global_position"
                + (reports.fresh ? "" : " ON CONFLICT (incident_id) DO NOTHING"),
            reports.parameters + [Self.textsByPosition(positions, texts)]
        ).affectedRows
    }

    /// `[{"position": p, "texts": t}, …]` from texts that are JSON already: one document for the
    /// statement to read (an array of jsonb made PostgreSQL parse and unescape each element).
    private static func textsByPosition(_ positions: [Int64], _ texts: [String]) -> String {
        var out = "["
        out.reserveCapacity(texts.reduce(2) { $0 + $1.utf8.count + 40 })
        for (index, (position, text)) in zip(positions, texts).enumerated() {
            if index > 0 { out += "," }
            out += "{\"position\":" + String(position) + ",\"texts\":" + text + "}"
        }
        return out + "]"
    }

    /// Seals the text of confidential incidents whose rows hold it in plain (written before sealed
    /// text): run at start, before anything is served.
    /// - Returns: how many rows it sealed.
    public func sealPlainConfidentialRows(on connection: PostgresConnection) throws -> Int {
        let rows = try connection.query(
            """
            SELECT incident_id, record::text AS record_text FROM incidents WHERE sensitivity = 'confidential' AND NOT record ? 'narrative'
            """
        ).rows
        var payload: [JSONValue] = []
        for row in rows {
            let incidentID: UUID = try row.decode(0)
            let record = try JSONValue.parse(Data(try row.decode(1, as: String.self).utf8)).objectValue ?? [:]
            let key = try narrative.currentKey(of: incidentID, on: connection)
            payload.append(["incident_id": .string(incidentID.postgresText), "record": .object(try narrative.sealRecord(record, with: key))])
        }
        guard !payload.isEmpty else { return 0 }
        return try connection.query(
            """
            UPDATE incidents i SET record = r.record FROM jsonb_to_recordset($1::jsonb) AS r(incident_id uuid, record jsonb)
            WHERE i.incident_id = r.incident_id
            """, [JSONValue.array(payload).encodedString]
        ).affectedRows
    }

    func load(_ ids: [UUID], from table: String, on connection: PostgresConnection) throws -> [UUID: Row] {
        guard !ids.isEmpty else { return [:] }
        var rows: [UUID: Row] = [:]
        for row in try connection.query(
            "SELECT incident_id, record::text AS record_text, version, status, reported_by, personal_data_erased, reported_at, updated_at FROM "
                + table + " WHERE incident_id = ANY($1::uuid[])", [postgresArray(ids)]
        ).rows {
            rows[try row.decode(0)] = Row(
                version: try row.decode(2), status: IncidentStatus(rawValue: try row.decode(3)) ?? .reported,
                record: try JSONValue.parse(Data(try row.decode(1, as: String.self).utf8)).objectValue ?? [:],
                reportedBy: try row.decodeIfPresent(4), personalDataErased: try row.decode(5),
                reportedAt: try row.decode(6), updatedAt: try row.decode(7)
            )
        }
        // The fold works on plain text: open what a confidential row holds sealed.
        let sealed = rows.filter { $0.value.record["narrative"] != nil }.map { (incidentID: $0.key, record: JSONValue.object($0.value.record)) }
        for (row, opened) in zip(sealed, try narrative.openRecords(sealed, on: connection)) {
            rows[row.incidentID]?.record = opened.objectValue ?? [:]
        }
        return rows
    }

    /// Upserts the rows in one statement: they travel as one JSON array. A confidential incident's
    /// text is sealed again under its current narrative key (an incident from before sealed text
    /// gets its first key here).
    func save(_ rows: [(UUID, Row)], to table: String, on connection: PostgresConnection) throws {
        guard !rows.isEmpty else { return }
        let confidential = rows.filter { $0.1.record["sensitivity"]?.stringValue == Sensitivity.confidential.rawValue }.map(\.0)
        var keys = try narrative.currentKeys(of: confidential, on: connection)
        for id in confidential where keys[id] == nil { keys[id] = try narrative.currentKey(of: id, on: connection) }
        var payload: [JSONValue] = []
        payload.reserveCapacity(rows.count)
        for (id, row) in rows {
            let r = row.record
            let municipality = r["municipality"]?.stringValue ?? ""
            payload.append(
                .object([
                    "incident_id": .string(id.postgresText), "version": .number(Double(row.version)), "status": .string(row.status.rawValue),
                    "category": r["category"] ?? .null, "subcategory": r["subcategory"] ?? .null, "municipality": .string(municipality),
                    "district": .string(regions.municipality(code: municipality)?.districtCode ?? ""), "occurred_at": r["occurred_at"] ?? .null,
                    "occurred_day": r["occurred_at"]?.stringValue.map { .string(IncidentTime.day(ofOccurredAt: $0)) } ?? .null,
                    "sensitivity": r["sensitivity"] ?? .null, "reported_by": row.reportedBy.map { .string($0) } ?? .null,
                    "killed": r["killed"] ?? 0, "injured": r["injured"] ?? 0, "abducted": r["abducted"] ?? 0, "displaced": r["displaced"] ?? 0,
                    "record": .object(try narrative.sealRecord(r, with: keys[id])), "personal_data_erased": .bool(row.personalDataErased),
                    "reported_at": .string(row.reportedAt.postgresText), "updated_at": .string(row.updatedAt.postgresText),
                ]))
        }
        try connection.query(
            "INSERT INTO " + table + """
                 (incident_id, version, status, category, subcategory, municipality, district,
                    occurred_at, occurred_day, sensitivity, reported_by, killed, injured, abducted, displaced, record,
                    personal_data_erased, reported_at, updated_at)
                SELECT incident_id, version, status, category, subcategory, municipality, district,
                    occurred_at, occurred_day, sensitivity, reported_by, killed, injured, abducted, displaced, record,
                    personal_data_erased, reported_at, updated_at
                FROM jsonb_to_recordset($1::jsonb) AS r(incident_id uuid, version integer, status text, category text, subcategory text,
                    municipality text, district text, occurred_at text, occurred_day date, sensitivity text, reported_by text,
                    killed integer, injured integer, abducted integer, displaced integer, record jsonb,
                    personal_data_erased boolean, reported_at timestamptz, updated_at timestamptz)
                ON CONFLICT (incident_id) DO UPDATE SET
                    version = EXCLUDED.version, status = EXCLUDED.status, category = EXCLUDED.category,
                    subcategory = EXCLUDED.subcategory, municipality = EXCLUDED.municipality, district = EXCLUDED.district,
                    occurred_at = EXCLUDED.occurred_at, occurred_day = EXCLUDED.occurred_day, sensitivity = EXCLUDED.sensitivity,
                    reported_by = EXCLUDED.reported_by, killed = EXCLUDED.killed, injured = EXCLUDED.injured,
                    abducted = EXCLUDED.abducted, displaced = EXCLUDED.displaced, record = EXCLUDED.record,
                    personal_data_erased = EXCLUDED.personal_data_erased, updated_at = EXCLUDED.updated_at
                """, [JSONValue.array(payload).encodedString])
    }
}
