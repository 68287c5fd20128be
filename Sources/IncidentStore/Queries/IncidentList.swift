import Foundation
import PostgresLibpq

/// Filters of `GET /v1/incidents`.
public struct IncidentFilter: Sendable {
    /// The longest `q` (characters): a longer pattern is a 400, not a scan of every row with it.
    public static let maximumSearchLength = 200

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
        let (sql, boundParameters, search) = try listStatement(filter, for: principal)
        let limit = filter.limit
        let (rows, records, found) = try await reads.withConnection { [narrative] connection in
            let rows = try connection.query(sql, boundParameters).rows
            let stored = try rows.prefix(limit).map { row in
                let record = try JSONValue.parse(Data(try row.decode(0, as: String.self).utf8))
                return (incidentID: try UUID(postgresText: record.objectValue?["incident_id"]?.stringValue ?? ""), record: record)
            }
            let records = try narrative.openRecords(stored, on: connection)
            // A row with sealed text was taken by the search unseen: it stays if its opened text matches.
            let sealed = stored.indices.filter { stored[$0].record.objectValue?["narrative"] != nil }
            var found = [Bool](repeating: true, count: records.count)
            if let search {
                let hits = try search.matches(sealed.map { records[$0] }, on: connection)
                for (index, hit) in zip(sealed, hits) { found[index] = hit }
            }
            return (rows, records, found)
        }
        var items: [(state: IncidentState, record: JSONValue)] = []
        for (index, (row, record)) in zip(rows, records).enumerated() where found[index] {
            let state = IncidentState(
                record: try record.decode(IncidentRecord.self), status: IncidentStatus(rawValue: try row.decode(2)) ?? .reported,
                version: try row.decode(1), reportedBy: try row.decodeIfPresent(3), personalDataErased: try row.decode(4),
                reportedAt: try row.decode(5), updatedAt: try row.decode(6)
            )
            items.append((state, record))
        }
        // The cursor is the last row looked at: a page of a search may hold fewer items than rows.
        var next: String?
        if rows.count > limit, let last = records.last?.objectValue, let id = last["incident_id"]?.stringValue, let day: String = try rows[limit - 1].decodeIfPresent(7) {
            next = Data("\(day)|\(id)".utf8).base64EncodedString()
        }
        return IncidentPage(items: items, nextCursor: next)
    }

    /// The statement of a list (one row more than a page: whether another follows), its
    /// parameters, and the search its sealed rows are matched by once opened.
    func listStatement(_ filter: IncidentFilter, for principal: Principal) throws -> (sql: String, parameters: [(any PostgresEncodable)?], search: IncidentSearch?) {
        var query = try IncidentListQuery(filter, reference: reference, sealedRows: Disclosure.listsConfidential(principal))
        if let visible = Disclosure.listCondition(for: principal, bind: { query.bind($0) }) { query.conditions.append(visible) }
        let sql =
            "SELECT record::text AS record_text, version, status, reported_by, personal_data_erased, reported_at, updated_at, occurred_day::text AS day FROM incidents"
            + query.whereClause
            + " ORDER BY occurred_day DESC, incident_id DESC LIMIT " + query.bind(filter.limit + 1)
        return (sql, query.parameters, query.search)
    }
}
