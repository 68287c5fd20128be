import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import IncidentStore
import Metrics
import PostgresLibpq

/// What the log records of the request an event came from.
func metadata(_ request: Request, _ context: APIContext, _ principal: Principal) -> EventMetadata {
    EventMetadata(
        principal: principal.name, role: principal.role.rawValue, requestID: context.id,
        client: request.headers[.userAgent].map { String($0.prefix(100)) }
    )
}

/// Who acts in a request, as the access audit records it.
func auditActor(_ context: APIContext, _ principal: Principal) -> AccessAudit.Actor {
    AccessAudit.Actor(principal: principal.name, role: principal.role.rawValue, requestID: context.id, clientAddress: context.clientAddress)
}

func incidentID(_ context: APIContext) throws -> UUID {
    try incidentID(context.parameters.get("id"))
}

/// The `{id}` of a path as an incident id; 404 when it is not one.
func incidentID(_ text: String?) throws -> UUID {
    guard let text, let id = UUID(uuidString: text) else {
        throw APIError(.notFound, code: "not_found", message: "incident not found")
    }
    return id
}

/// Events appended by reports (made once, on first use: after the metrics system is set up).
let appendsTotal = Counter(label: "incident_appends_total")

/// The answer to a write: 201 when it stored its event, 200 when it was a replay of one.
func written(_ outcome: WriteOutcome) -> Response {
    if !outcome.replayed { appendsTotal.increment() }
    return JSONResponse.make(outcome.replayed ? .ok : .created, Render.write(outcome))
}

/// Runs a query whose parameters the service validates: invalid ones are a 400 naming each.
func badQueryOnInvalid<T>(_ body: () async throws -> T) async throws -> T {
    do {
        return try await body()
    } catch ServiceError.invalid(let failure) {
        let fields = JSONValue.array(failure.errors.map { ["field": .string($0.field), "message": .string($0.message)] })
        throw APIError(.badRequest, code: "bad_filter", message: failure.description, details: ["fields": fields])
    }
}

extension HTTPField.Name {
    static let lastEventID = Self("Last-Event-ID")!
    /// Why personal data is read (`GET /v1/incidents/{id}?include=personal`).
    static let accessReason = Self("X-Access-Reason")!
}

/// A list's query parameters in its filter: each named parameter as given (the service validates
/// the values), and `limit` as a whole number, or `invalidLimit`.
func listFilter<Filter>(
    _ filter: Filter, from query: FlatDictionary<Substring, Substring>, text fields: KeyValuePairs<String, WritableKeyPath<Filter, String?>>,
    limit: WritableKeyPath<Filter, Int>, invalidLimit: () -> APIError
) throws -> Filter {
    var filter = filter
    for (name, field) in fields { filter[keyPath: field] = query.get(name) }
    if let text = query.get("limit") {
        guard let value = Int(text) else { throw invalidLimit() }
        filter[keyPath: limit] = value
    }
    return filter
}
