import Crypto
import Foundation

/// One sealed envelope as it travels (see `OutboxEnvelopeFormat`): the key it was sealed to and
/// the two HPKE outputs, each in base64. Version and suite are the format's own, so they are
/// written, and checked when read, rather than carried.
public struct SealedOutboxEnvelope: Sendable, Equatable {
    public var keyID: String
    public var encapsulatedKey: Data
    public var ciphertext: Data

    public init(keyID: String, encapsulatedKey: Data, ciphertext: Data) {
        (self.keyID, self.encapsulatedKey, self.ciphertext) = (keyID, encapsulatedKey, ciphertext)
    }

    /// Reads an envelope strictly: any defect is named, so a sender knows what to mend.
    public init(parsing data: Data) throws(OutboxEnvelopeDefect) {
        let fields = try StrictObject(data, allowed: OutboxEnvelopeFormat.envelopeFields, what: "the envelope")
        guard fields.int("version") == OutboxEnvelopeFormat.version else { throw .malformed("version must be \(OutboxEnvelopeFormat.version)") }
        guard fields.string("suite") == OutboxEnvelopeFormat.suite else { throw .malformed("suite must be \(OutboxEnvelopeFormat.suite)") }
        guard let keyID = fields.string("key_id"), keyID.utf8.count == 16, keyID.utf8.allSatisfy({ (48...57).contains($0) || (97...102).contains($0) }) else {
            throw .malformed("key_id must be 16 lower-case hex digits")
        }
        guard let encapsulatedKey = fields.base64("encapsulated_key"), encapsulatedKey.count == 32 else {
            throw .malformed("encapsulated_key must be 32 bytes in base64")
        }
        guard let ciphertext = fields.base64("ciphertext"), ciphertext.count > 16 else { throw .malformed("ciphertext must be base64") }
        self.init(keyID: keyID, encapsulatedKey: encapsulatedKey, ciphertext: ciphertext)
    }

    /// Opens the envelope with the raw X25519 private key of `keyID` and reads the write inside.
    public func open(with privateKey: Data) throws(OutboxEnvelopeDefect) -> OutboxWrite {
        let plaintext: Data
        do {
            var recipient = try HPKE.Recipient(
                privateKey: try Curve25519.KeyAgreement.PrivateKey(rawRepresentation: privateKey), ciphersuite: OutboxEnvelopeFormat.ciphersuite,
                info: OutboxEnvelopeFormat.info, encapsulatedKey: encapsulatedKey)
            plaintext = try recipient.open(ciphertext, authenticating: OutboxEnvelopeFormat.associatedData(keyID: keyID))
        } catch {
            throw .unopenable
        }
        let fields = try StrictObject(plaintext, allowed: OutboxEnvelopeFormat.innerFields, what: "the sealed request")
        guard let method = fields.string("method"), let path = fields.string("path") else { throw .malformed("the sealed request needs a method and a path") }
        let idempotencyKey = fields.string("idempotency_key")
        guard idempotencyKey != nil || fields.isNullOrAbsent("idempotency_key") else { throw .malformed("idempotency_key must be a string or null") }
        guard let body = fields.base64("body") else { throw .malformed("the sealed request's body must be base64") }
        return OutboxWrite(method: method, path: path, idempotencyKey: idempotencyKey, body: body)
    }

    /// The envelope's bytes: sorted keys, as ictl has always written them, through
    /// JSONSerialization so the escaping of base64's `/` stays what it was.
    public func encoded() throws -> Data {
        let envelope: [String: Any] = [
            "version": OutboxEnvelopeFormat.version, "suite": OutboxEnvelopeFormat.suite, "key_id": keyID,
            "encapsulated_key": encapsulatedKey.base64EncodedString(), "ciphertext": ciphertext.base64EncodedString(),
        ]
        return try JSONSerialization.data(withJSONObject: envelope, options: [.sortedKeys])
    }
}
