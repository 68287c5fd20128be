import Foundation
import IncidentStore
import PostgresLibpq

extension Render {
    static func auditRecord(_ record: AccessAudit.Record) -> JSONValue {
        func text(_ value: String?) -> JSONValue { value.map { .string($0) } ?? .null }
        return [
            "id": .number(Double(record.id)),
            "at": timestamp(record.at),
            "principal": .string(record.principal),
            "role": .string(record.role),
            "action": .string(record.action),
            "incident_id": text(record.incidentID?.lowercasedText),
            "target": text(record.target),
            "reason": text(record.reason),
            "request_id": text(record.requestID),
            "client_address": text(record.clientAddress),
        ]
    }
}
