import Foundation
import Hummingbird
import IncidentStore
import Logging
import NIOCore

extension Request {
    /// The body, at most `limit` bytes; beyond, `tooLarge` (by default 413 naming the limit).
    mutating func body(upTo limit: Int, tooLarge: APIError? = nil) async throws -> Data {
        do {
            return Data(try await collectBody(upTo: limit).readableBytesView)
        } catch is NIOTooManyBytesError {
            throw tooLarge ?? Self.tooLarge(limit)
        }
    }

    /// The body as JSON, at most `limit` bytes (413 beyond), valid UTF-8 JSON (400 otherwise).
    mutating func jsonBody(limit: Int = 1 << 20) async throws -> JSONValue {
        try Self.json(try await body(upTo: limit), limit: limit)
    }

    /// A body already read (the inner request of an outbox envelope) as JSON, with the same
    /// limit and errors as ``jsonBody(limit:)``.
    static func json(_ data: Data, limit: Int = 1 << 20) throws -> JSONValue {
        guard data.count <= limit else { throw tooLarge(limit) }
        do {
            return try JSONValue.parse(data)
        } catch {
            throw APIError(.badRequest, code: "malformed_json", message: "the body is not valid JSON in UTF-8")
        }
    }

    static func tooLarge(_ limit: Int) -> APIError {
        APIError(.contentTooLarge, code: "payload_too_large", message: "the body is larger than \(limit / 1024) KiB")
    }

    /// The `Idempotency-Key` header as a UUID; 400 when present and not a UUID.
    var idempotencyKey: UUID? {
        get throws { try Self.idempotencyKey(headers[.idempotencyKey]) }
    }

    /// An idempotency key as sent (a header, or an envelope's inner key) as a UUID; 400 when
    /// present and not a UUID.
    static func idempotencyKey(_ value: String?) throws -> UUID? {
        guard let value else { return nil }
        guard let uuid = UUID(uuidString: String(value.trimmingSpaces)) else {
            throw APIError(.badRequest, code: "bad_idempotency_key", message: "Idempotency-Key must be a UUID")
        }
        return uuid
    }
}

/// Reads a small command body (`{expected_version, reason, ...}`): unknown fields are a 400,
/// wrong types a 422 naming every field.
struct CommandBody {
    let object: [String: JSONValue]
    var errors: [FieldError] = []

    init(_ body: JSONValue, allowed: Set<String>) throws {
        guard case .object(let object) = body else {
            throw APIError(.badRequest, code: "bad_request", message: "the body must be a JSON object")
        }
        let unknown = object.keys.filter { !allowed.contains($0) }.sorted()
        if !unknown.isEmpty { throw APIError.from(ValidationFailure(unknown.map { FieldError.unknown($0) })) }
        self.object = object
    }

    mutating func int(_ key: String) -> Int? {
        guard case .number(let number)? = object[key], number == number.rounded(), abs(number) < 1e9 else {
            errors.append(FieldError(key, object[key] == nil ? "is required" : "must be a whole number"))
            return nil
        }
        return Int(number)
    }

    mutating func string(_ key: String, required: Bool = true) -> String? {
        switch object[key] {
        case .string(let text)?: return text
        case nil, .null?:
            if required { errors.append(FieldError(key, "is required")) }
            return nil
        default:
            errors.append(FieldError(key, "must be a string"))
            return nil
        }
    }

    mutating func uuid(_ key: String) -> UUID? {
        guard let text = string(key, required: false) else { return nil }
        guard let uuid = UUID(uuidString: text) else {
            errors.append(FieldError(key, "must be a UUID"))
            return nil
        }
        return uuid
    }

    func check() throws {
        if !errors.isEmpty { throw APIError.from(ValidationFailure(errors)) }
    }
}
