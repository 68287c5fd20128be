import Foundation
import IncidentAPI
import Testing

/// The envelope's bytes are a contract with outboxes already on disk: these fix them.
@Suite struct OutboxEnvelopeFormatTests {
    static let sample = SealedOutboxEnvelope(keyID: "0123456789abcdef", encapsulatedKey: Data(repeating: 0xfb, count: 32), ciphertext: Data([0xff, 0xfe, 0x01]))
    static let sampleJSON =
        #"{"ciphertext":"\/\/4B","encapsulated_key":"+\/v7+\/v7+\/v7+\/v7+\/v7+\/v7+\/v7+\/v7+\/v7+\/v7+\/s=","key_id":"0123456789abcdef","#
        + #""suite":"DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-256-GCM","version":1}"#

    @Test func encodesTheFixedKeysInOrder() throws {
        #expect(String(decoding: try Self.sample.encoded(), as: UTF8.self) == Self.sampleJSON)
    }

    @Test func decodesAFixedSample() throws {
        #expect(try JSONDecoder().decode(SealedOutboxEnvelope.self, from: Data(Self.sampleJSON.utf8)) == Self.sample)
    }

    @Test func refusesAnotherVersion() {
        let other = Self.sampleJSON.replacingOccurrences(of: #""version":1"#, with: #""version":2"#)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(SealedOutboxEnvelope.self, from: Data(other.utf8)) }
    }

    @Test func padsThePlaintextToWholeKibibytes() throws {
        let plaintext = try OutboxEnvelopeFormat.plaintext(method: "POST", path: "/v1/incidents", idempotencyKey: nil, body: Data("{}".utf8))
        #expect(plaintext.count == OutboxEnvelopeFormat.padding)
        let json = String(decoding: plaintext, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        #expect(json == #"{"body":"e30=","idempotency_key":null,"method":"POST","path":"\/v1\/incidents"}"#)
    }
}
