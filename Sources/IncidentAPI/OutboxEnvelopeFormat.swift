import Crypto
import Foundation

/// The offline outbox's sealed envelope (docs/api.md, The offline outbox), spelled once for ictl,
/// which seals it, and the daemon, which opens it at `POST /v1/outbox:deliver`.
///
/// The envelope is a JSON object:
///
///     {"version": 1, "suite": "DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM",
///      "key_id": "<16 hex digits>", "encapsulated_key": "<base64, 32 bytes>", "ciphertext": "<base64>"}
///
/// sealed with HPKE (RFC 9180, base mode) to the server's outbox key `key_id`, with the `info`
/// and associated data below: the associated data binds the version, suite, key id and the
/// delivery endpoint, so an envelope opens nowhere else. The plaintext is a JSON object
///
///     {"method": "POST", "path": "/v1/incidents/<id>/amendments", "idempotency_key": "<uuid>" or null,
///      "body": "<base64 of the request body, byte for byte>"}
///
/// followed by spaces up to a multiple of 1 KiB, so that the size of a sealed entry tells little
/// about the size of the report inside.
public enum OutboxEnvelopeFormat {
    public static let version = 1
    public static let suite = "DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM"
    public static var ciphersuite: HPKE.Ciphersuite { HPKE.Ciphersuite(kem: .Curve25519_HKDF_SHA256, kdf: .HKDF_SHA256, aead: .AES_GCM_256) }
    public static let info = Data("incident-log outbox v1".utf8)
    public static let padding = 1024
    /// The envelope's fields, and the fields of the write inside; nothing else is accepted.
    public static let envelopeFields = ["version", "suite", "key_id", "encapsulated_key", "ciphertext"]
    public static let innerFields = ["method", "path", "idempotency_key", "body"]

    public static func associatedData(keyID: String) -> Data {
        Data("incident-log outbox v1\0\(suite)\0\(keyID)\0POST /v1/outbox:deliver".utf8)
    }

    /// The plaintext of one write: its JSON with sorted keys, padded with spaces to a multiple of `padding`.
    public static func plaintext(of write: OutboxWrite) throws -> Data {
        let inner: [String: Any] = [
            "method": write.method, "path": write.path, "idempotency_key": write.idempotencyKey.map { $0 as Any } ?? NSNull(),
            "body": write.body.base64EncodedString(),
        ]
        var plaintext = try JSONSerialization.data(withJSONObject: inner, options: [.sortedKeys])
        plaintext.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (padding - plaintext.count % padding) % padding))
        return plaintext
    }

    /// The envelope (JSON) of `plaintext`, sealed to the raw X25519 public key `publicKey` named `keyID`.
    public static func seal(_ plaintext: Data, toPublicKey publicKey: Data, keyID: String) throws -> Data {
        var sender = try HPKE.Sender(recipientKey: try Curve25519.KeyAgreement.PublicKey(rawRepresentation: publicKey), ciphersuite: ciphersuite, info: info)
        let ciphertext = try sender.seal(plaintext, authenticating: associatedData(keyID: keyID))
        return try SealedOutboxEnvelope(keyID: keyID, encapsulatedKey: sender.encapsulatedKey, ciphertext: ciphertext).encoded()
    }
}
