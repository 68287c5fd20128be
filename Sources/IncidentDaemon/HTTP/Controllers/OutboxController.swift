import Foundation
import HTTPTypes
import Hummingbird
import IncidentAPI
import IncidentStore
import NIOCore
import PostgresLibpq

/// The sealed offline outbox (docs/api.md, The offline outbox): `GET /v1/outbox-key` gives ictl the public key
/// to seal queued writes to; `POST /v1/outbox:deliver` opens an envelope and runs the write inside
/// as the caller, exactly as its own route would (``IncidentWrite``), with the inner idempotency
/// key: the answer is the inner write's answer.
struct OutboxController: Sendable {
    let deps: AppDependencies

    func addRoutes(to v1: some RouterMethods<APIContext>) {
        v1.get("outbox-key", use: key)
        v1.post("outbox:deliver", use: deliver)
    }

    @Sendable func key(_ request: Request, context: APIContext) async throws -> Response {
        _ = try context.requirePrincipal()
        let keys = try deps.requireOutbox()
        guard let key = try await deps.pool.withConnection({ try keys.current(on: $0) }) else {
            // `serve` makes one at start; only a database it never served lacks one.
            var error = APIError(
                .serviceUnavailable, code: "outbox_key_unavailable", message: "the server has no outbox key yet; it makes one when incidentd serve starts")
            error.headers[.retryAfter] = "60"
            throw error
        }
        return JSONResponse.make(.ok, ["key_id": .string(key.id), "public_key": .string(key.publicKey.base64EncodedString()), "suite": .string(OutboxEnvelope.suite)])
    }

    @Sendable func deliver(_ request: Request, context: APIContext) async throws -> Response {
        var request = request
        let principal = try context.requirePrincipal()
        let keys = try deps.requireOutbox()
        let envelope = try OutboxEnvelope.parse(try await request.body(upTo: OutboxEnvelope.maximumSize))
        let privateKey: Data
        do {
            privateKey = try await deps.pool.withConnection { [keyID = envelope.keyID] in try keys.privateKey(keyID, on: $0) }
        } catch let error as OutboxKeyError {
            switch error {
            case .unknown: throw APIError(.unprocessableContent, code: "unknown_outbox_key", message: error.description)
            case .expired: throw APIError(.gone, code: "outbox_key_expired", message: error.description)
            }
        }
        let inner = try OutboxEnvelope.open(envelope, with: privateKey)
        guard inner.method == "POST", let (write, incidentID) = IncidentWrite.route(inner.path) else {
            throw APIError(
                .unprocessableContent, code: "not_deliverable",
                message: "an envelope may hold only POST /v1/incidents, /v1/incidents/{id}/amendments, /verification or /retraction")
        }
        // A delivery that carries personal data is audited, in the transaction of its write.
        let carriesPersonalData = (try? Request.json(inner.body)).map(write.carriesPersonalData) ?? false
        let audit = carriesPersonalData ? AccessAudit.Entry(.outboxDeliver, by: auditActor(context, principal)) : nil
        let input = IncidentWrite.Input(
            principal: principal, metadata: metadata(request, context, principal), incidentID: incidentID,
            idempotencyKey: inner.idempotencyKey, audit: audit
        ) { try Request.json(inner.body) }
        return try await write.run(input, deps)
    }
}

extension AppDependencies {
    func requireOutbox() throws -> OutboxKeys {
        guard let outbox else { throw APIError(.serviceUnavailable, code: "outbox_unavailable", message: "this server keeps no outbox keys") }
        return outbox
    }
}
