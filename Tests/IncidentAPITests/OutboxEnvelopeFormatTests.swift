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

    @Test func parsesAFixedSample() throws {
        let sample = Self.sampleJSON.replacingOccurrences(of: #""\/\/4B""#, with: #""\/\/4B\/\/4B\/\/4B\/\/4B\/\/4B\/\/4B""#)
        let parsed = try SealedOutboxEnvelope(parsing: Data(sample.utf8))
        #expect(parsed.keyID == Self.sample.keyID && parsed.encapsulatedKey == Self.sample.encapsulatedKey && parsed.ciphertext.count == 18)
    }

    @Test func namesEachDefect() {
        func defect(_ from: String, _ to: String) -> OutboxEnvelopeDefect? {
            do {
                _ = try SealedOutboxEnvelope(parsing: Data(Self.sampleJSON.replacingOccurrences(of: from, with: to).utf8))
                return nil
            } catch { return error }
        }
        #expect(defect(#""version":1"#, #""version":2"#) == .malformed("version must be 1"))
        #expect(defect(#""version":1"#, #""version":true"#) == .malformed("version must be 1"))
        #expect(defect(#""key_id":"0123456789abcdef""#, #""key_id":"0123456789ABCDEF""#) == .malformed("key_id must be 16 lower-case hex digits"))
        #expect(defect(#""version":1"#, #""version":1,"as":"admin""#) == .malformed("unknown fields in the envelope: as"))
        #expect(defect("{", "[") == .malformed("the envelope is not a JSON object"))
        // The sample's ciphertext is too short to hold a tag.
        #expect(defect("", "") == .malformed("ciphertext must be base64"))
    }

    @Test func padsThePlaintextToWholeKibibytes() throws {
        let plaintext = try OutboxEnvelopeFormat.plaintext(of: OutboxWrite(method: "POST", path: "/v1/incidents", body: Data("{}".utf8)))
        #expect(plaintext.count == OutboxEnvelopeFormat.padding)
        let json = String(decoding: plaintext, as: UTF8.self).trimmingCharacters(in: .whitespaces)
        #expect(json == #"{"body":"e30=","idempotency_key":null,"method":"POST","path":"\/v1\/incidents"}"#)
    }
}
