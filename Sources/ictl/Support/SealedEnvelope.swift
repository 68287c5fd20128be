import Crypto
import Foundation

/// How ictl seals a write for its offline outbox (docs/cli.md, ictl outbox). The daemon reads the same
/// format (`Sources/IncidentDaemon/HTTP/OutboxEnvelope.swift`, which documents it in full): an
/// envelope `{version, suite, key_id, encapsulated_key, ciphertext}` sealed with HPKE (RFC 9180,
/// base mode; DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM) to the server's key, whose
/// plaintext is `{method, path, idempotency_key, body}` (the body in base64, byte for byte as it
/// would have been sent) padded with spaces to a multiple of 1 KiB. The associated data binds the
/// version, suite, key id and the delivery endpoint.
enum SealedEnvelope {
    static let version = 1
    static let suite = "DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM"
    static var ciphersuite: HPKE.Ciphersuite { HPKE.Ciphersuite(kem: .Curve25519_HKDF_SHA256, kdf: .HKDF_SHA256, aead: .AES_GCM_256) }
    static let info = Data("incident-log outbox v1".utf8)
    static let padding = 1024

    static func associatedData(keyID: String) -> Data {
        Data("incident-log outbox v1\0\(suite)\0\(keyID)\0POST /v1/outbox:deliver".utf8)
    }

    /// The envelope (JSON) of one write, sealed to `key`.
    static func seal(method: String, path: String, idempotencyKey: String?, body: Data, to key: OutboxKey) throws -> Data {
        guard let publicKey = Data(base64Encoded: key.publicKey) else {
            throw CLIError(code: Exit.other, message: "the stored outbox key is damaged; log in again while online")
        }
        let inner: [String: Any] = [
            "method": method, "path": path, "idempotency_key": idempotencyKey.map { $0 as Any } ?? NSNull(), "body": body.base64EncodedString(),
        ]
        var plaintext = try JSONSerialization.data(withJSONObject: inner, options: [.sortedKeys])
        plaintext.append(contentsOf: repeatElement(UInt8(ascii: " "), count: (padding - plaintext.count % padding) % padding))
        var sender = try HPKE.Sender(recipientKey: try Curve25519.KeyAgreement.PublicKey(rawRepresentation: publicKey), ciphersuite: ciphersuite, info: info)
        let ciphertext = try sender.seal(plaintext, authenticating: associatedData(keyID: key.keyID))
        let envelope: [String: Any] = [
            "version": version, "suite": suite, "key_id": key.keyID,
            "encapsulated_key": sender.encapsulatedKey.base64EncodedString(), "ciphertext": ciphertext.base64EncodedString(),
        ]
        return try JSONSerialization.data(withJSONObject: envelope, options: [.sortedKeys])
    }
}
