import Foundation
import Hummingbird
import IncidentStore
import PostgresLibpq

// The review forms of an incident's page. Each carries the version the reviewer saw: when the
// incident changed meanwhile, the page comes back with the current state and says so.
extension ConsoleController {
    @Sendable func decide(_ request: Request, context: APIContext) async throws -> Response {
        try await submit(request, context) { form, id, version, principal in
            guard let decision = form["decision"].flatMap(IncidentService.Decision.init(rawValue:)) else {
                throw ServiceError.invalid(ValidationFailure([FieldError("decision", "must be verified or rejected")]))
            }
            _ = try await deps.service.decide(
                id, expectedVersion: version, decision: decision, note: form["note"] ?? "", idempotencyKey: nil, by: principal,
                metadata: metadata(request, context, principal))
        }
    }

    @Sendable func retract(_ request: Request, context: APIContext) async throws -> Response {
        try await submit(request, context) { form, id, version, principal in
            _ = try await deps.service.retract(
                id, expectedVersion: version, reason: form["reason"] ?? "", duplicateOf: nil, idempotencyKey: nil, by: principal,
                metadata: metadata(request, context, principal))
        }
    }

    @Sendable func amend(_ request: Request, context: APIContext) async throws -> Response {
        try await submit(request, context) { form, id, version, principal in
            let current = try await deps.service.incident(id, history: false, for: principal).state.record
            var changes: [String: JSONValue] = [:]
            for field in Self.amendable(current) {
                guard let sent = form[field.name]?.trimmingCharacters(in: .whitespacesAndNewlines), sent != field.value else { continue }
                // A number stays a number; anything else goes as typed, for validation to name.
                changes[field.name] = field.isCount ? Int(sent).map { .number(Double($0)) } ?? .string(sent) : sent.isEmpty ? .null : .string(sent)
            }
            guard !changes.isEmpty else { throw ServiceError.invalid(ValidationFailure([FieldError("changes", "nothing was changed")])) }
            _ = try await deps.service.amend(
                id, expectedVersion: version, changes: .object(changes), reason: form["reason"] ?? "", idempotencyKey: nil, by: principal,
                metadata: metadata(request, context, principal))
        }
    }

    /// The fields the amend form offers, with their current values.
    static func amendable(_ record: IncidentRecord) -> [(name: String, label: String, value: String, isCount: Bool)] {
        [
            ("summary", "Summary", record.summary, false), ("place", "Place", record.place ?? "", false),
            ("killed", "Killed", String(record.killed), true), ("injured", "Injured", String(record.injured), true),
            ("abducted", "Abducted", String(record.abducted), true), ("displaced", "Displaced", String(record.displaced), true),
        ]
    }

    /// Checks the form's token, runs `write`, and answers with the incident's page: a redirect
    /// after success, the page with the problem in words after a refusal (422, 409).
    private func submit(
        _ request: Request, _ context: APIContext, write: (ConsoleForm, UUID, Int, Principal) async throws -> Void
    ) async throws -> Response {
        let principal = try context.requirePrincipal()
        let form = try await ConsoleForm.read(request)
        try ConsoleSession.require(context).checkForm(form)
        let id = try incidentID(context)
        guard let version = form["expected_version"].flatMap(Int.init) else {
            return try await incidentPage(id, context: context, message: "The form lost the version it was shown with; reload the page.", status: .badRequest)
        }
        do {
            try await write(form, id, version, principal)
        } catch ServiceError.versionConflict(let current) {
            let message = "This incident changed while you had it open (it is now at version \(current)); its current state is below: check it and decide again."
            return try await incidentPage(id, context: context, message: message, status: .conflict)
        } catch ServiceError.invalid(let failure) {
            return try await incidentPage(id, context: context, message: failure.description, status: .unprocessableContent)
        } catch ServiceError.state(let conflict) {
            return try await incidentPage(id, context: context, message: ServiceError.state(conflict).description, status: .conflict)
        }
        return ConsolePage.redirect(to: "/incidents/\(id.lowercasedText)")
    }
}
