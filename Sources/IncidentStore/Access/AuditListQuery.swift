import Foundation
import PostgresLibpq

/// The conditions of a page of the access audit, from its filter.
struct AuditListQuery: FilterQuery {
    var conditions: [String] = []
    var parameters: [(any PostgresEncodable)?] = []
    var errors: [FieldError] = []

    init(_ filter: AccessAudit.Filter) throws {
        period(filter)
        subject(filter)
        page(filter)
        try check()
    }

    /// `since` and `until`: a day (Kosovo's) or an instant.
    mutating func period(_ filter: AccessAudit.Filter) {
        for (field, value, isUntil) in [("since", filter.since, false), ("until", filter.until, true)] {
            guard let value else { continue }
            if IncidentTime.parseDay(value) != nil {
                // A day is Kosovo's: from its midnight, or up to the next one.
                let bound = "((" + bind(value) + "::date + \(isUntil ? 1 : 0))::timestamp AT TIME ZONE 'Europe/Belgrade')"
                conditions.append(isUntil ? "at < " + bound : "at >= " + bound)
            } else if let instant = AccessAudit.timestamp(value) {
                conditions.append((isUntil ? "at <= " : "at >= ") + bind(instant) + "::timestamptz")
            } else {
                errors.append(FieldError(field, "must be a timestamp (RFC 3339) or a date YYYY-MM-DD"))
            }
        }
    }

    /// Who, what and which incident.
    mutating func subject(_ filter: AccessAudit.Filter) {
        if let principal = filter.principal {
            if principal.isEmpty || principal.count > 200 || principal.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
                errors.append(FieldError("principal", "must be a token's name (or local:USER), at most 200 characters"))
            } else {
                conditions.append("principal = " + bind(principal))
            }
        }
        if let action = filter.action {
            if AccessAudit.Action(rawValue: action) == nil {
                errors.append(FieldError("action", "must be one of \(AccessAudit.Action.allCases.map(\.rawValue).joined(separator: ", "))"))
            } else {
                conditions.append("action = " + bind(action))
            }
        }
        if let incident = filter.incident {
            if let id = UUID(uuidString: incident) {
                conditions.append("incident_id = " + bind(id))
            } else {
                errors.append(FieldError("incident", "must be an incident id (UUID)"))
            }
        }
    }

    /// The page size and the cursor.
    mutating func page(_ filter: AccessAudit.Filter) {
        if !(1...AccessAudit.maximumPageSize).contains(filter.limit) {
            errors.append(FieldError("limit", "must be from 1 to \(AccessAudit.maximumPageSize)"))
        }
        if let cursor = filter.cursor {
            let text = Data(base64Encoded: cursor).map { String(decoding: $0, as: UTF8.self) } ?? ""
            if text.hasPrefix("a1."), let after = Int64(text.dropFirst(3)), after >= 0 {
                conditions.append("id > " + bind(after))
            } else {
                errors.append(FieldError("cursor", "is not a cursor this server gave out"))
            }
        }
    }
}
