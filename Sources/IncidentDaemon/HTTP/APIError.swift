import Foundation
import HTTPTypes
import Hummingbird
import IncidentStore
import Logging
import PostgresLibpq

/// An error with its HTTP status, rendered as `{"error": {"code", "message", "details"}}`.
struct APIError: Error, HTTPResponseError {
    var status: HTTPResponse.Status
    var code: String
    var message: String
    var details: JSONValue?
    var headers: HTTPFields = [:]

    init(_ status: HTTPResponse.Status, code: String, message: String, details: JSONValue? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        var body: [String: JSONValue] = ["code": .string(code), "message": .string(message)]
        if let details { body["details"] = details }
        var response = JSONResponse.make(status, ["error": .object(body)])
        response.headers.append(contentsOf: headers)
        return response
    }

    /// The API's answer to any error a handler throws: no input may produce a 500.
    static func from(_ error: any Error, logger: Logger) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as ServiceError:
            return from(error)
        case let failure as ValidationFailure:
            return from(failure)
        case let error as AccessReasonError:
            return APIError(.badRequest, code: error == .missing ? "reason_required" : "reason_invalid", message: error.description)
        case let error as AccessAuditError:
            // Nothing was done: the action and its audit record were one transaction.
            logger.error("access audit unavailable", metadata: ["db.error": "\(error.debugDescription)"])
            var apiError = APIError(.serviceUnavailable, code: "audit_unavailable", message: error.description)
            apiError.headers[.retryAfter] = "5"
            return apiError
        case let error as PersonalDataError:
            return APIError(.conflict, code: error == .erased ? "personal_data_erased" : "personal_data_unreadable", message: error.description)
        case let error as DatabaseError where error.isStatementTimeout:
            // The request's statement_timeout ran out (a lock held elsewhere, an overloaded server).
            logger.warning("database statement timed out", metadata: ["db.sqlstate": "57014", "db.error": "\(error.debugDescription)"])
            var apiError = APIError(.serviceUnavailable, code: "database_timeout", message: "the database did not answer in time; try again shortly")
            apiError.headers[.retryAfter] = "5"
            return apiError
        case let error as DatabaseError where error.isConnectionFailure:
            logger.warning("database unavailable", metadata: ["db.error": "\(error.debugDescription)"])
            var apiError = APIError(.serviceUnavailable, code: "database_unavailable", message: "the database is unavailable; try again shortly")
            apiError.headers[.retryAfter] = "5"
            return apiError
        case is KeyRingError, is MasterKeyError, is CocoaError:
            // A key this daemon cannot open (a master key file it cannot read), or the erasure
            // ledger it cannot write: nothing the request did, and nothing it may see.
            logger.error("keys unavailable", metadata: ["error": "\(error)"])
            var apiError = APIError(.serviceUnavailable, code: "keys_unavailable", message: "the daemon cannot use its keys now; an operator has been told (see its log)")
            apiError.headers[.retryAfter] = "30"
            return apiError
        case let error as HTTPError:
            let code =
                switch error.status.code {
                case 404: "not_found"
                case 405: "method_not_allowed"
                case 413: "payload_too_large"
                case 400: "bad_request"
                default: "http_\(error.status.code)"
                }
            return APIError(error.status, code: code, message: error.body ?? error.status.reasonPhrase)
        case let error as any HTTPResponseError:
            return APIError(error.status, code: error.status.code == 413 ? "payload_too_large" : "http_\(error.status.code)", message: error.status.reasonPhrase)
        case is DecodingError:
            return APIError(.badRequest, code: "malformed_json", message: "the body is not valid JSON in UTF-8")
        case is CancellationError:
            return APIError(.serviceUnavailable, code: "cancelled", message: "the request was cancelled")
        default:
            logger.error("unexpected error", metadata: ["error": "\(String(reflecting: error))"])
            return APIError(.internalServerError, code: "internal_error", message: "an unexpected error occurred; it was logged")
        }
    }

    static func from(_ error: ServiceError) -> APIError {
        switch error {
        case .notFound:
            return APIError(.notFound, code: "not_found", message: "incident not found")
        case .forbidden(let message):
            return APIError(.forbidden, code: "forbidden", message: message)
        case .invalid(let failure):
            return from(failure)
        case .versionConflict(let current):
            return APIError(.conflict, code: "version_conflict", message: error.description, details: ["current_version": .number(Double(current))])
        case .idempotencyConflict:
            return APIError(.conflict, code: "idempotency_conflict", message: error.description)
        case .state(let conflict):
            return APIError(.conflict, code: code(of: conflict), message: error.description)
        }
    }

    private static func code(of conflict: StateConflict) -> String {
        switch conflict {
        case .incidentExists: "incident_exists"
        case .retracted: "retracted"
        case .personalDataErased: "personal_data_erased"
        case .alreadyErased: "already_erased"
        }
    }

    /// Unknown fields are a 400 naming them (typos must not silently drop data); other rule
    /// violations a 422 naming every field.
    static func from(_ failure: ValidationFailure) -> APIError {
        let fields = JSONValue.array(failure.errors.map { ["field": .string($0.field), "message": .string($0.message)] })
        let unknown = failure.errors.filter(\.isUnknownField)
        if !unknown.isEmpty {
            return APIError(.badRequest, code: "unknown_fields", message: "unknown fields: \(unknown.map(\.field).joined(separator: ", "))", details: ["fields": fields])
        }
        return APIError(.unprocessableContent, code: "validation_failed", message: failure.description, details: ["fields": fields])
    }
}

/// Turns every thrown error into the API's JSON error body.
struct ErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            // The router found no route: for a path it serves with other methods, say which (405).
            let allowed = OpenAPI.methods(for: request.uri.path)
            guard !allowed.isEmpty else { return try APIError.from(error, logger: context.logger).response(from: request, context: context) }
            var apiError = APIError(
                .methodNotAllowed, code: "method_not_allowed", message: "\(request.method) is not allowed here; allowed: \(allowed.joined(separator: ", "))")
            apiError.headers[.allow] = allowed.joined(separator: ", ")
            return try apiError.response(from: request, context: context)
        } catch {
            return try APIError.from(error, logger: context.logger).response(from: request, context: context)
        }
    }
}

enum JSONResponse {
    static func make(_ status: HTTPResponse.Status, _ body: JSONValue) -> Response {
        var data = body.encoded()
        data.append(UInt8(ascii: "\n"))
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data))
        )
    }
}

extension HTTPField.Name {
    static let idempotencyKey = Self("Idempotency-Key")!
}
