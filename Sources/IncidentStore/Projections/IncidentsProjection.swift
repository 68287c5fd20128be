import Foundation

/// The `incidents` read model: the current state of each incident, for listing and filtering
/// without reading the log.
public struct IncidentsProjection: Projection {
    public static let name = "incidents"
    public var name: String { Self.name }
    public var tables: [String] { ["incidents"] }
    public let regions: RegionDirectory

    public init(regions: RegionDirectory) { self.regions = regions }

    public func apply(_ events: [RecordedEvent], to tables: ProjectionTables, on connection: PostgresConnection) throws {
        var streams: [String] = []
        var eventsByStream: [String: [RecordedEvent]] = [:]
        for event in events {
            if eventsByStream[event.stream] == nil { streams.append(event.stream) }
            eventsByStream[event.stream, default: []].append(event)
        }
        let table = tables("incidents")
        for stream in streams {
            guard let incidentID = IncidentEvent.incidentID(fromStream: stream) else { continue }
            var state = try load(incidentID, from: table, on: connection)
            for event in eventsByStream[stream]! {
                if state == nil {
                    state = try IncidentState.fold([event])
                } else if event.streamVersion > state!.version {
                    try state!.apply(event.incidentEvent(), version: event.streamVersion, at: event.recordedAt)
                }
            }
            if let state { try save(state, to: table, on: connection) }
        }
    }

    func load(_ incidentID: UUID, from table: String, on connection: PostgresConnection) throws -> IncidentState? {
        guard let row = try connection.query(
            "SELECT record::text AS record_text, version, status, reported_by, personal_data_erased, reported_at, updated_at FROM "
                + table + " WHERE incident_id = $1", [incidentID]
        ).first
        else { return nil }
        return IncidentState(
            record: try JSONValue.parse(Data(try row.decode(0, as: String.self).utf8)).decode(IncidentRecord.self),
            status: IncidentStatus(rawValue: try row.decode(2)) ?? .reported,
            version: try row.decode(1), reportedBy: try row.decodeIfPresent(3),
            personalDataErased: try row.decode(4), reportedAt: try row.decode(5), updatedAt: try row.decode(6)
        )
    }

    func save(_ state: IncidentState, to table: String, on connection: PostgresConnection) throws {
        var record = state.record
        record.personal = nil
        let r = record
        try connection.query("INSERT INTO " + table + """
             (incident_id, version, status, category, subcategory, municipality, district,
                occurred_at, occurred_day, sensitivity, reported_by, killed, injured, abducted, displaced, record,
                personal_data_erased, reported_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::date, $10, $11, $12, $13, $14, $15, $16::jsonb, $17, $18, $19)
            ON CONFLICT (incident_id) DO UPDATE SET
                version = EXCLUDED.version, status = EXCLUDED.status, category = EXCLUDED.category,
                subcategory = EXCLUDED.subcategory, municipality = EXCLUDED.municipality, district = EXCLUDED.district,
                occurred_at = EXCLUDED.occurred_at, occurred_day = EXCLUDED.occurred_day, sensitivity = EXCLUDED.sensitivity,
                reported_by = EXCLUDED.reported_by, killed = EXCLUDED.killed, injured = EXCLUDED.injured,
                abducted = EXCLUDED.abducted, displaced = EXCLUDED.displaced, record = EXCLUDED.record,
                personal_data_erased = EXCLUDED.personal_data_erased, updated_at = EXCLUDED.updated_at
            """, [
                r.incidentID, state.version, state.status.rawValue, r.category, r.subcategory, r.municipality,
                regions.municipality(code: r.municipality)?.districtCode ?? "", r.occurredAt, r.occurredDay,
                r.sensitivity.rawValue, state.reportedBy, r.killed, r.injured, r.abducted, r.displaced,
                try JSONValue(encoding: r).encodedString, state.personalDataErased, state.reportedAt, state.updatedAt,
            ])
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
