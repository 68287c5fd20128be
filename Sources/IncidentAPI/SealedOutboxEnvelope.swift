import Foundation

/// One sealed envelope as it travels (see `OutboxEnvelopeFormat`): the key it was sealed to and
/// the two HPKE outputs, each in base64. Version and suite are the format's own, so they are
/// written, and checked when read, rather than carried.
public struct SealedOutboxEnvelope: Sendable, Equatable, Decodable {
    public var keyID: String
    public var encapsulatedKey: Data
    public var ciphertext: Data

    public init(keyID: String, encapsulatedKey: Data, ciphertext: Data) {
        (self.keyID, self.encapsulatedKey, self.ciphertext) = (keyID, encapsulatedKey, ciphertext)
    }

    enum CodingKeys: String, CodingKey {
        case version, suite, keyID = "key_id", encapsulatedKey = "encapsulated_key", ciphertext
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        guard try container.decode(Int.self, forKey: .version) == OutboxEnvelopeFormat.version else {
            throw DecodingError.dataCorruptedError(forKey: .version, in: container, debugDescription: "version must be \(OutboxEnvelopeFormat.version)")
        }
        guard try container.decode(String.self, forKey: .suite) == OutboxEnvelopeFormat.suite else {
            throw DecodingError.dataCorruptedError(forKey: .suite, in: container, debugDescription: "suite must be \(OutboxEnvelopeFormat.suite)")
        }
        keyID = try container.decode(String.self, forKey: .keyID)
        encapsulatedKey = try container.decode(Data.self, forKey: .encapsulatedKey)
        ciphertext = try container.decode(Data.self, forKey: .ciphertext)
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
