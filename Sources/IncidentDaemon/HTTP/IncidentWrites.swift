import Foundation
import HTTPTypes
import Hummingbird
import IncidentStore

/// The writes ictl may keep in its offline outbox: a report, an amendment, a decision, a
/// retraction. Each runs through one function whether its request came directly
/// (`POST /v1/incidents…`) or sealed in an outbox envelope (`POST /v1/outbox:deliver`), so both
/// ways have the same roles, validation, errors and status codes.
enum IncidentWrite: Sendable, Equatable {
    case report, amendment, verification, retraction

    /// What a write reads from its request.
    struct Input {
        var principal: Principal
        var metadata: EventMetadata
        /// The `{id}` segment of the path (none for a report).
        var incidentID: String?
        /// The idempotency key as sent: the `Idempotency-Key` header, or an envelope's inner key.
        var idempotencyKey: String?
        /// Reads the JSON body; called after the role is checked.
        var body: () async throws -> JSONValue
        /// The audit record to write with the write (an outbox delivery that carries personal data).
        var audit: AccessAudit.Entry?

        /// A request made directly to the write's route.
        init(_ request: Request, _ context: APIContext) throws {
            let principal = try context.requirePrincipal()
            self.init(
                principal: principal, metadata: IncidentDaemon.metadata(request, context, principal), incidentID: context.parameters.get("id"),
                idempotencyKey: request.headers[.idempotencyKey].map { String($0) }
            ) {
                var request = request
                return try await request.jsonBody()
            }
        }

        init(
            principal: Principal, metadata: EventMetadata, incidentID: String?, idempotencyKey: String?, audit: AccessAudit.Entry? = nil,
            body: @escaping () async throws -> JSONValue
        ) {
            (self.principal, self.metadata, self.incidentID, self.idempotencyKey, self.body) = (principal, metadata, incidentID, idempotencyKey, body)
            self.audit = audit
        }
    }

    /// The write `POST path` asks for (`/v1/incidents`, `/v1/incidents/{id}/amendments`,
    /// `…/verification`, `…/retraction`) and its `{id}`; nil for any other path.
    static func route(_ path: String) -> (write: IncidentWrite, incidentID: String?)? {
        guard !path.contains("?"), !path.contains("#") else { return nil }
        let segments = path.split(separator: "/", omittingEmptySubsequences: false)
        guard segments.count >= 3, segments[0].isEmpty, segments[1] == "v1", segments[2] == "incidents" else { return nil }
        if segments.count == 3 { return (.report, nil) }
        guard segments.count == 5, !segments[3].isEmpty else { return nil }
        let write: IncidentWrite? =
            switch segments[4] {
            case "amendments": .amendment
            case "verification": .verification
            case "retraction": .retraction
            default: nil
            }
        return write.map { ($0, String(segments[3])) }
    }

    /// Whether this write's body gives personal data (a report's `personal`, an amendment's
    /// `changes.personal`); a delivery of such a write through the outbox is audited.
    func carriesPersonalData(_ body: JSONValue) -> Bool {
        let object = body.objectValue ?? [:]
        let personal =
            switch self {
            case .report: object["personal"]
            case .amendment: object["changes"]?.objectValue?["personal"]
            case .verification, .retraction: JSONValue?.none
            }
        return personal != nil && personal != .null
    }

    func run(_ input: Input, _ deps: AppDependencies) async throws -> Response {
        let principal = input.principal
        switch self {
        case .report:
            try IncidentService.authorize(.report, principal)
            let body = try await input.body()
            let outcome = try await deps.service.report(
                body, idempotencyKey: try Request.idempotencyKey(input.idempotencyKey), by: principal, metadata: input.metadata,
                audit: input.audit)
            return written(outcome)

        case .amendment:
            try IncidentService.authorize(.amend, principal)
            var body = try CommandBody(try await input.body(), allowed: ["expected_version", "changes", "reason"])
            let expected = body.int("expected_version")
            let reason = body.string("reason")
            if body.object["changes"] == nil { body.errors.append(FieldError("changes", "is required")) }
            try body.check()
            let outcome = try await deps.service.amend(
                try incidentID(input.incidentID), expectedVersion: expected!, changes: body.object["changes"]!, reason: reason!,
                idempotencyKey: try Request.idempotencyKey(input.idempotencyKey), by: principal, metadata: input.metadata, audit: input.audit)
            return written(outcome)

        case .verification:
            try IncidentService.authorize(.decide, principal)
            var body = try CommandBody(try await input.body(), allowed: ["expected_version", "decision", "note"])
            let expected = body.int("expected_version")
            let decisionText = body.string("decision")
            let note = body.string("note")
            let decision = decisionText.flatMap(IncidentService.Decision.init(rawValue:))
            if decisionText != nil && decision == nil { body.errors.append(FieldError("decision", "must be verified or rejected")) }
            try body.check()
            let outcome = try await deps.service.decide(
                try incidentID(input.incidentID), expectedVersion: expected!, decision: decision!, note: note!,
                idempotencyKey: try Request.idempotencyKey(input.idempotencyKey), by: principal, metadata: input.metadata)
            return written(outcome)

        case .retraction:
            try IncidentService.authorize(.retract, principal)
            var body = try CommandBody(try await input.body(), allowed: ["expected_version", "reason", "duplicate_of"])
            let expected = body.int("expected_version")
            let reason = body.string("reason")
            let duplicateOf = body.uuid("duplicate_of")
            try body.check()
            let outcome = try await deps.service.retract(
                try incidentID(input.incidentID), expectedVersion: expected!, reason: reason!, duplicateOf: duplicateOf,
                idempotencyKey: try Request.idempotencyKey(input.idempotencyKey), by: principal, metadata: input.metadata)
            return written(outcome)
        }
    }
}
