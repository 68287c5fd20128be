import Foundation
import PostgresLibpq

/// The conditions of a list of incidents, from its filter.
struct IncidentListQuery: FilterQuery {
    var conditions: [String] = []
    var parameters: [(any PostgresEncodable)?] = []
    var errors: [FieldError] = []

    /// The search by `q`, if any: the rows of a page with sealed text are matched by it once opened.
    var search: IncidentSearch?

    /// - Parameter sealedRows: whether the caller may list rows that hold their text sealed
    ///   (confidential incidents): a search then takes each of them, to be matched once opened.
    /// - Throws: ``ServiceError/invalid(_:)`` naming each bad filter.
    init(_ filter: IncidentFilter, reference: ReferenceData, sealedRows: Bool) throws {
        regions(filter, reference)
        taxonomy(filter, reference)
        period(filter, reference)
        searchText(filter, reference, sealedRows: sealedRows)
        page(filter, reference)
        try check()
    }

    /// The municipality or district.
    mutating func regions(_ filter: IncidentFilter, _ reference: ReferenceData) {
        if let name = filter.municipality {
            switch reference.regions.resolveMunicipality(name) {
            case .found(let m): conditions.append("municipality = " + bind(m.code))
            case .ambiguous(let c): errors.append(FieldError("municipality", "'\(name)' is ambiguous; one of \(c.map(\.code).joined(separator: ", "))"))
            case .unknown(let s):
                errors.append(
                    FieldError("municipality", "unknown municipality '\(name)'" + (s.isEmpty ? "" : "; did you mean \(s.map(\.code).joined(separator: " or "))?")))
            }
        }
        if let name = filter.district {
            switch reference.regions.resolveDistrict(name) {
            case .found(let d):
                // As its municipalities (a row's district is derived from its municipality): the
                // municipality index serves them, and incidents has no district index.
                let municipalities = reference.regions.municipalities(inDistrict: d.code).map(\.code)
                conditions.append("municipality = ANY(" + bind(postgresArray(municipalities)) + "::text[])")
            case .ambiguous(let c): errors.append(FieldError("district", "'\(name)' is ambiguous; one of \(c.map(\.code).joined(separator: ", "))"))
            case .unknown: errors.append(FieldError("district", "unknown district '\(name)'; one of \(reference.regions.districts.map(\.code).joined(separator: ", "))"))
            }
        }
    }

    /// The category, sub-category and status.
    mutating func taxonomy(_ filter: IncidentFilter, _ reference: ReferenceData) {
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
    }

    /// The days of occurrence.
    mutating func period(_ filter: IncidentFilter, _ reference: ReferenceData) {
        for (field, value, op) in [("since", filter.since, ">="), ("until", filter.until, "<=")] {
            guard let value else { continue }
            if IncidentTime.parseDay(value) == nil {
                errors.append(FieldError(field, "must be a date YYYY-MM-DD"))
            } else {
                conditions.append("occurred_day \(op) " + bind(value) + "::date")
            }
        }
    }

    /// The text searched for (``IncidentSearch``), on the folded texts the trigram index serves.
    mutating func searchText(_ filter: IncidentFilter, _ reference: ReferenceData, sealedRows: Bool) {
        if let q = filter.q, q.count > IncidentFilter.maximumSearchLength {
            errors.append(FieldError("q", "is at most \(IncidentFilter.maximumSearchLength) characters"))
        } else if let search = IncidentSearch(filter.q, regions: reference.regions) {
            self.search = search
            let found = search.condition(on: "search_text") { bind($0) }
            // A confidential incident's text is sealed in its row: it is matched once opened. The
            // partial index on such rows serves this arm beside the trigram index.
            conditions.append(sealedRows ? "(" + found + " OR record ? 'narrative')" : found)
        }
    }

    /// The page size and the cursor.
    mutating func page(_ filter: IncidentFilter, _ reference: ReferenceData) {
        if !(1...IncidentService.maximumPageSize).contains(filter.limit) {
            errors.append(FieldError("limit", "must be from 1 to \(IncidentService.maximumPageSize)"))
        }
        if let cursor = filter.cursor {
            let parts = (Data(base64Encoded: cursor).map { String(decoding: $0, as: UTF8.self) } ?? "").split(separator: "|")
            if parts.count == 2, IncidentTime.parseDay(String(parts[0])) != nil, let id = UUID(uuidString: String(parts[1])) {
                conditions.append("(occurred_day, incident_id) < (" + bind(String(parts[0])) + "::date, " + bind(id) + "::uuid)")
            } else {
                errors.append(FieldError("cursor", "is not a cursor this server gave out"))
            }
        }
    }
}
