import Crypto
import Foundation
import HTTPTypes
import IncidentStore

/// A write that ictl sealed for its offline outbox (docs/api.md, The offline outbox), as
/// `POST /v1/outbox:deliver` receives it. ictl defines the same format on its side
/// (`Sources/ictl/Support/SealedEnvelope.swift`); the CLI tests run the two against each other.
///
/// The envelope is a JSON object:
///
///     {"version": 1, "suite": "DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM",
///      "key_id": "<16 hex digits>", "encapsulated_key": "<base64, 32 bytes>", "ciphertext": "<base64>"}
///
/// sealed with HPKE (RFC 9180, base mode) to the server's outbox key `key_id`, with the `info`
/// and associated data below: the associated data binds the version, suite, key id and this
/// endpoint, so an envelope opens nowhere else. The plaintext is a JSON object
///
///     {"method": "POST", "path": "/v1/incidents/<id>/amendments", "idempotency_key": "<uuid>" or null,
///      "body": "<base64 of the request body, byte for byte>"}
///
/// followed by spaces up to a multiple of 1 KiB, so that the size of a sealed entry tells little
/// about the size of the report inside.
struct OutboxEnvelope: Sendable {
    static let version = 1
    static let suite = "DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM"
    static var ciphersuite: HPKE.Ciphersuite { HPKE.Ciphersuite(kem: .Curve25519_HKDF_SHA256, kdf: .HKDF_SHA256, aead: .AES_GCM_256) }
    static let info = Data("incident-log outbox v1".utf8)
    static let padding = 1024
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

    static func associatedData(keyID: String) -> Data {
        Data("incident-log outbox v1\0\(suite)\0\(keyID)\0POST /v1/outbox:deliver".utf8)
    }

    /// Reads an envelope; every defect is a 400 `bad_envelope` naming it.
    init(parsing data: Data) throws {
        guard case .object(let object)? = try? JSONValue.parse(data) else { throw Self.bad("the envelope is not a JSON object") }
        let unknown = object.keys.filter { !["version", "suite", "key_id", "encapsulated_key", "ciphertext"].contains($0) }.sorted()
        guard unknown.isEmpty else { throw Self.bad("unknown envelope fields: \(unknown.joined(separator: ", "))") }
        guard object["version"] == .number(Double(Self.version)) else { throw Self.bad("version must be \(Self.version)") }
        guard object["suite"] == .string(Self.suite) else { throw Self.bad("suite must be \(Self.suite)") }
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
                privateKey: try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: privateKey), ciphersuite: Self.ciphersuite,
                info: Self.info, encapsulatedKey: encapsulatedKey)
            plaintext = try recipient.open(ciphertext, authenticating: Self.associatedData(keyID: keyID))
        } catch {
            throw APIError(.badRequest, code: "envelope_unopenable", message: "the envelope does not open: it was altered, or sealed to another key")
        }
        guard case .object(let object)? = try? JSONValue.parse(plaintext) else { throw Self.bad("the sealed request is not a JSON object") }
        let unknown = object.keys.filter { !["method", "path", "idempotency_key", "body"].contains($0) }.sorted()
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
        var plaintext = JSONValue.object([
            "method": .string(inner.method), "path": .string(inner.path),
            "idempotency_key": inner.idempotencyKey.map { .string($0) } ?? .null, "body": .string(inner.body.base64EncodedString()),
        ]).encoded()
        plaintext.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (padding - plaintext.count % padding) % padding))
        return try sealPlaintext(plaintext, to: key)
    }

    /// Seals any plaintext as an envelope (tests of what the server does with a bad one).
    static func sealPlaintext(_ plaintext: Data, to key: OutboxPublicKey) throws -> Data {
        var sender = try HPKE.Sender(recipientKey: try Curve25519.KeyAgreement.PublicKey(rawRepresentation: key.publicKey), ciphersuite: ciphersuite, info: info)
        let ciphertext = try sender.seal(plaintext, authenticating: associatedData(keyID: key.id))
        return JSONValue.object([
            "version": .number(Double(version)), "suite": .string(suite), "key_id": .string(key.id),
            "encapsulated_key": .string(sender.encapsulatedKey.base64EncodedString()), "ciphertext": .string(ciphertext.base64EncodedString()),
        ]).encoded()
    }

    private static func bad(_ message: String) -> APIError {
        APIError(.badRequest, code: "bad_envelope", message: message)
    }
}
