import Foundation

/// The `incidents` read model: the current state of each incident, for listing and filtering
/// without reading the log.
public struct IncidentsProjection: Projection {
    public static let name = "incidents"
    public var name: String { Self.name }
    public var tables: [String] { ["incidents"] }
    public let regions: RegionDirectory

    public init(regions: RegionDirectory) { self.regions = regions }

    /// One query loads the batch's known incidents, the fold runs in memory, one statement writes
    /// every changed incident back.
    public func apply(_ events: [RecordedEvent], to tables: ProjectionTables, on connection: PostgresConnection) throws {
        var order: [UUID] = []
        var eventsByIncident: [UUID: [RecordedEvent]] = [:]
        for event in events {
            guard let id = IncidentEvent.incidentID(fromStream: event.stream) else { continue }
            if eventsByIncident[id] == nil { order.append(id) }
            eventsByIncident[id, default: []].append(event)
        }
        let table = tables("incidents")
        var states = try load(order, from: table, on: connection)
        for id in order {
            var state = states[id]
            for event in eventsByIncident[id]! {
                if state == nil {
                    state = try IncidentState.fold([event])
                } else if event.streamVersion > state!.version {
                    try state!.apply(event.incidentEvent(), version: event.streamVersion, at: event.recordedAt)
                }
            }
            states[id] = state
        }
        try save(order.compactMap { states[$0] }, to: table, on: connection)
    }

    func load(_ ids: [UUID], from table: String, on connection: PostgresConnection) throws -> [UUID: IncidentState] {
        guard !ids.isEmpty else { return [:] }
        var states: [UUID: IncidentState] = [:]
        for row in try connection.query(
            "SELECT record::text AS record_text, version, status, reported_by, personal_data_erased, reported_at, updated_at FROM "
                + table + " WHERE incident_id = ANY($1::uuid[])", [postgresArray(ids)]
        ).rows {
            let state = IncidentState(
                record: try JSONDecoder().decode(IncidentRecord.self, from: Data(try row.decode(0, as: String.self).utf8)),
                status: IncidentStatus(rawValue: try row.decode(2)) ?? .reported,
                version: try row.decode(1), reportedBy: try row.decodeIfPresent(3),
                personalDataErased: try row.decode(4), reportedAt: try row.decode(5), updatedAt: try row.decode(6)
            )
            states[state.record.incidentID] = state
        }
        return states
    }

    /// Upserts the states in one statement: their rows travel as one JSON array.
    func save(_ states: [IncidentState], to table: String, on connection: PostgresConnection) throws {
        guard !states.isEmpty else { return }
        var rows: [JSONValue] = []
        rows.reserveCapacity(states.count)
        for state in states {
            var r = state.record
            r.personal = nil
            rows.append(.object([
                "incident_id": .string(r.incidentID.postgresText), "version": .number(Double(state.version)), "status": .string(state.status.rawValue),
                "category": .string(r.category), "subcategory": .string(r.subcategory), "municipality": .string(r.municipality),
                "district": .string(regions.municipality(code: r.municipality)?.districtCode ?? ""), "occurred_at": .string(r.occurredAt),
                "occurred_day": .string(r.occurredDay), "sensitivity": .string(r.sensitivity.rawValue),
                "reported_by": state.reportedBy.map { .string($0) } ?? .null,
                "killed": .number(Double(r.killed)), "injured": .number(Double(r.injured)),
                "abducted": .number(Double(r.abducted)), "displaced": .number(Double(r.displaced)),
                "record": try JSONValue(encoding: r), "personal_data_erased": .bool(state.personalDataErased),
                "reported_at": .string(state.reportedAt.postgresText), "updated_at": .string(state.updatedAt.postgresText),
            ]))
        }
        try connection.query("INSERT INTO " + table + """
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
            """, [JSONValue.array(rows).encodedString])
    }
}

/// Filters of `GET /v1/incidents`.
public struct IncidentFilter: Sendable {
    public var municipality: String?
    public var district: String?
    public var category: String?
    public var subcategory: String?
    public var status: String?
    public var since: String?
    public var until: String?
    public var q: String?
    public var limit: Int = 50
    public var cursor: String?

    public init() {}
}

/// One page of incidents and the cursor of the next (nil on the last page).
public struct IncidentPage: Sendable {
    public var items: [(state: IncidentState, record: JSONValue)]
    public var nextCursor: String?
}

extension IncidentService {
    public static let maximumPageSize = 500

    /// Lists incidents from the read model, newest occurrence first, as the caller may see them.
    /// - Throws: ``ServiceError/invalid(_:)`` naming each bad filter.
    public func list(_ filter: IncidentFilter, for principal: Principal) async throws -> IncidentPage {
        var errors: [FieldError] = []
        var conditions: [String] = []
        var parameters: [(any PostgresEncodable)?] = []
        func bind(_ value: any PostgresEncodable) -> String {
            parameters.append(value)
            return "$\(parameters.count)"
        }
        if let name = filter.municipality {
            switch reference.regions.resolveMunicipality(name) {
            case .found(let m): conditions.append("municipality = " + bind(m.code))
            case .ambiguous(let c): errors.append(FieldError("municipality", "'\(name)' is ambiguous; one of \(c.map(\.code).joined(separator: ", "))"))
            case .unknown(let s): errors.append(FieldError("municipality", "unknown municipality '\(name)'" + (s.isEmpty ? "" : "; did you mean \(s.map(\.code).joined(separator: " or "))?")))
            }
        }
        if let name = filter.district {
            switch reference.regions.resolveDistrict(name) {
            case .found(let d): conditions.append("district = " + bind(d.code))
            case .ambiguous(let c): errors.append(FieldError("district", "'\(name)' is ambiguous; one of \(c.map(\.code).joined(separator: ", "))"))
            case .unknown: errors.append(FieldError("district", "unknown district '\(name)'; one of \(reference.regions.districts.map(\.code).joined(separator: ", "))"))
            }
        }
        if let category = filter.category {
            if reference.taxonomy.category(category) == nil { errors.append(FieldError("category", "unknown category '\(category)'")) }
            conditions.append("category = " + bind(category))
        }
        if let subcategory = filter.subcategory {
            if reference.taxonomy.categoryOwning(subcategory: subcategory) == nil { errors.append(FieldError("subcategory", "unknown sub-category '\(subcategory)'")) }
            conditions.append("subcategory = " + bind(subcategory))
        }
        if let status = filter.status {
            if IncidentStatus(rawValue: status) == nil {
                errors.append(FieldError("status", "must be one of \(IncidentStatus.allCases.map(\.rawValue).joined(separator: ", "))"))
            }
            conditions.append("status = " + bind(status))
        }
        for (field, value, op) in [("since", filter.since, ">="), ("until", filter.until, "<=")] {
            guard let value else { continue }
            if IncidentTime.parseDay(value) == nil {
                errors.append(FieldError(field, "must be a date YYYY-MM-DD"))
            } else {
                conditions.append("occurred_day \(op) " + bind(value) + "::date")
            }
        }
        if let q = filter.q, !q.isEmpty {
            let pattern = "%" + q.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%").replacingOccurrences(of: "_", with: "\\_") + "%"
            let p = bind(pattern)
            conditions.append("(record->>'summary' ILIKE \(p) OR record->>'place' ILIKE \(p))")
        }
        if !(1...Self.maximumPageSize).contains(filter.limit) {
            errors.append(FieldError("limit", "must be from 1 to \(Self.maximumPageSize)"))
        }
        if let cursor = filter.cursor {
            let parts = (Data(base64Encoded: cursor).map { String(decoding: $0, as: UTF8.self) } ?? "").split(separator: "|")
            if parts.count == 2, IncidentTime.parseDay(String(parts[0])) != nil, let id = UUID(uuidString: String(parts[1])) {
                conditions.append("(occurred_day, incident_id) < (" + bind(String(parts[0])) + "::date, " + bind(id) + "::uuid)")
            } else {
                errors.append(FieldError("cursor", "is not a cursor this server gave out"))
            }
        }
        guard errors.isEmpty else { throw ServiceError.invalid(ValidationFailure(errors)) }
        switch principal.role {
        case .admin, .reviewer: break
        case .analyst: conditions.append("sensitivity <> 'confidential'")
        case .reporter: conditions.append("reported_by = " + bind(principal.name))
        }
        let limit = filter.limit
        let sql = "SELECT record::text AS record_text, version, status, reported_by, personal_data_erased, reported_at, updated_at, occurred_day::text AS day FROM incidents"
            + (conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND "))
            + " ORDER BY occurred_day DESC, incident_id DESC LIMIT " + bind(limit + 1)
        let boundParameters = parameters
        let rows = try await pool.withConnection { try $0.query(sql, boundParameters).rows }
        var items: [(state: IncidentState, record: JSONValue)] = []
        for row in rows.prefix(limit) {
            let record = try JSONValue.parse(Data(try row.decode(0, as: String.self).utf8))
            let state = IncidentState(
                record: try record.decode(IncidentRecord.self), status: IncidentStatus(rawValue: try row.decode(2)) ?? .reported,
                version: try row.decode(1), reportedBy: try row.decodeIfPresent(3), personalDataErased: try row.decode(4),
                reportedAt: try row.decode(5), updatedAt: try row.decode(6)
            )
            items.append((state, record))
        }
        var next: String?
        if rows.count > limit, let last = items.last {
            next = Data("\(last.state.record.occurredDay)|\(last.state.record.incidentID.uuidString.lowercased())".utf8).base64EncodedString()
        }
        return IncidentPage(items: items, nextCursor: next)
    }
}
