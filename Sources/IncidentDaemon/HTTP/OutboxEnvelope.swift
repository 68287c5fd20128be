import Crypto
import Foundation
import HTTPTypes
import IncidentAPI
import IncidentStore

/// A write that ictl sealed for its offline outbox, as `POST /v1/outbox:deliver` receives it.
/// The format, and ictl's side of it, is `OutboxEnvelopeFormat`; here it is read strictly, so that
/// each defect is answered by name.
struct OutboxEnvelope: Sendable {
    typealias Format = OutboxEnvelopeFormat
    static let suite = Format.suite
    /// An inner body of 1 MiB (the write routes' limit), base64 twice, fits with room to spare.
    static let maximumSize = 2 << 20

    var keyID: String
    var encapsulatedKey: Data
    var ciphertext: Data

    /// The write inside.
    struct Inner: Sendable, Equatable {
        var method: String
        var path: String
        var idempotencyKey: String?
        var body: Data
    }

    /// Reads an envelope; every defect is a 400 `bad_envelope` naming it.
    init(parsing data: Data) throws {
        guard case .object(let object)? = try? JSONValue.parse(data) else { throw Self.bad("the envelope is not a JSON object") }
        let unknown = object.keys.filter { !Format.envelopeFields.contains($0) }.sorted()
        guard unknown.isEmpty else { throw Self.bad("unknown envelope fields: \(unknown.joined(separator: ", "))") }
        guard object["version"] == .number(Double(Format.version)) else { throw Self.bad("version must be \(Format.version)") }
        guard object["suite"] == .string(Format.suite) else { throw Self.bad("suite must be \(Format.suite)") }
        guard case .string(let keyID)? = object["key_id"], keyID.utf8.count == 16, keyID.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw Self.bad("key_id must be 16 lower-case hex digits")
        }
        guard case .string(let encapsulated)? = object["encapsulated_key"], let encapsulatedKey = Data(base64Encoded: encapsulated), encapsulatedKey.count == 32 else {
            throw Self.bad("encapsulated_key must be 32 bytes in base64")
        }
        guard case .string(let sealed)? = object["ciphertext"], let ciphertext = Data(base64Encoded: sealed), ciphertext.count > 16 else {
            throw Self.bad("ciphertext must be base64")
        }
        (self.keyID, self.encapsulatedKey, self.ciphertext) = (keyID, encapsulatedKey, ciphertext)
    }

    init(keyID: String, encapsulatedKey: Data, ciphertext: Data) {
        (self.keyID, self.encapsulatedKey, self.ciphertext) = (keyID, encapsulatedKey, ciphertext)
    }

    /// Opens the envelope with the raw private key of `keyID` and reads the write inside.
    /// - Throws: 400 `envelope_unopenable` when it does not open (altered, or sealed to another
    ///   key), 400 `bad_envelope` when what is inside is not a write.
    func open(with privateKey: Data) throws -> Inner {
        let plaintext: Data
        do {
            var recipient = try HPKE.Recipient(
                privateKey: try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: privateKey), ciphersuite: Format.ciphersuite,
                info: Format.info, encapsulatedKey: encapsulatedKey)
            plaintext = try recipient.open(ciphertext, authenticating: Format.associatedData(keyID: keyID))
        } catch {
            throw APIError(.badRequest, code: "envelope_unopenable", message: "the envelope does not open: it was altered, or sealed to another key")
        }
        guard case .object(let object)? = try? JSONValue.parse(plaintext) else { throw Self.bad("the sealed request is not a JSON object") }
        let unknown = object.keys.filter { !Format.innerFields.contains($0) }.sorted()
        guard unknown.isEmpty else { throw Self.bad("unknown fields in the sealed request: \(unknown.joined(separator: ", "))") }
        guard case .string(let method)? = object["method"], case .string(let path)? = object["path"] else {
            throw Self.bad("the sealed request needs a method and a path")
        }
        let idempotencyKey: String?
        switch object["idempotency_key"] {
        case nil, .null?: idempotencyKey = nil
        case .string(let key)?: idempotencyKey = key
        default: throw Self.bad("idempotency_key must be a string or null")
        }
        guard case .string(let encoded)? = object["body"], let body = Data(base64Encoded: encoded) else {
            throw Self.bad("the sealed request's body must be base64")
        }
        return Inner(method: method, path: path, idempotencyKey: idempotencyKey, body: body)
    }

    /// Seals a write as ictl does (the server itself never seals; tests do).
    static func seal(_ inner: Inner, to key: OutboxPublicKey) throws -> Data {
        try sealPlaintext(Format.plaintext(method: inner.method, path: inner.path, idempotencyKey: inner.idempotencyKey, body: inner.body), to: key)
    }

    /// Seals any plaintext as an envelope (tests of what the server does with a bad one).
    static func sealPlaintext(_ plaintext: Data, to key: OutboxPublicKey) throws -> Data {
        try Format.seal(plaintext, toPublicKey: key.publicKey, keyID: key.id)
    }

    private static func bad(_ message: String) -> APIError {
        APIError(.badRequest, code: "bad_envelope", message: message)
    }
}
