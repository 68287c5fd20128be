import Crypto
import Foundation
import IncidentAPI
import Testing

@testable import ictl

/// The outbox's format: writes sealed to the server's key (HPKE), kept on disk without plain text.
@Suite struct OutboxTests {
    /// A server key pair as `GET /v1/outbox-key` would name its public half.
    struct ServerKey {
        let privateKey = Curve25519.KeyAgreement.PrivateKey()
        let keyID: String

        init(keyID: String = "0123456789abcdef") { self.keyID = keyID }

        var outboxKey: OutboxKey {
            get throws {
                try #require(
                    OutboxKey(answer: [
                        "key_id": keyID, "public_key": privateKey.publicKey.rawRepresentation.base64EncodedString(), "suite": OutboxEnvelopeFormat.suite,
                    ]))
            }
        }

        /// Opens an envelope as the daemon does; throws when it was not sealed to this key.
        func open(_ envelope: Data, keyID named: String? = nil) throws -> (padded: Data, inner: [String: Any]) {
            let json = try #require(try JSONSerialization.jsonObject(with: envelope) as? [String: Any])
            let encapsulated = try #require(Data(base64Encoded: json["encapsulated_key"] as? String ?? ""))
            let ciphertext = try #require(Data(base64Encoded: json["ciphertext"] as? String ?? ""))
            var recipient = try HPKE.Recipient(
                privateKey: privateKey, ciphersuite: OutboxEnvelopeFormat.ciphersuite, info: OutboxEnvelopeFormat.info,
                encapsulatedKey: encapsulated)
            let plaintext = try recipient.open(ciphertext, authenticating: OutboxEnvelopeFormat.associatedData(keyID: named ?? json["key_id"] as? String ?? ""))
            return (plaintext, try #require(try JSONSerialization.jsonObject(with: plaintext) as? [String: Any]))
        }
    }

    static let body = Data(#"{"summary":"Two men assaulted a returnee near the mill."}"#.utf8)

    private func temporaryDirectory() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("ictl-tests-" + UUID().uuidString).path
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func sealingAndOpeningRoundTrips() throws {
        let server = ServerKey()
        let envelope = try SealedEnvelope.seal(method: "POST", path: "/v1/incidents", idempotencyKey: "key-1", body: Self.body, to: try server.outboxKey)
        let outer = try #require(try JSONSerialization.jsonObject(with: envelope) as? [String: Any])
        #expect(outer["version"] as? Int == 1)
        #expect(outer["suite"] as? String == OutboxEnvelopeFormat.suite)
        #expect(outer["key_id"] as? String == server.keyID)
        let (padded, inner) = try server.open(envelope)
        #expect(padded.count % 1024 == 0)
        #expect(inner["method"] as? String == "POST")
        #expect(inner["path"] as? String == "/v1/incidents")
        #expect(inner["idempotency_key"] as? String == "key-1")
        #expect(Data(base64Encoded: inner["body"] as? String ?? "") == Self.body)
        let withoutKey = try server.open(try SealedEnvelope.seal(method: "POST", path: "/p", idempotencyKey: nil, body: Data(), to: try server.outboxKey))
        #expect(withoutKey.inner["idempotency_key"] is NSNull)
    }

    @Test func anotherKeyCannotOpenIt() throws {
        let server = ServerKey(), other = ServerKey()
        let envelope = try SealedEnvelope.seal(method: "POST", path: "/v1/incidents", idempotencyKey: nil, body: Self.body, to: try server.outboxKey)
        #expect(throws: (any Error).self) { try other.open(envelope) }
        // The key id is bound as associated data: the same key under another id does not open it.
        #expect(throws: (any Error).self) { try server.open(envelope, keyID: "fedcba9876543210") }
        #expect(throws: Never.self) { try server.open(envelope) }
    }

    @Test func onlyKeysICtlCanSealToAreTaken() throws {
        let publicKey = Curve25519.KeyAgreement.PrivateKey().publicKey.rawRepresentation.base64EncodedString()
        #expect(OutboxKey(answer: ["key_id": "0123456789abcdef", "public_key": publicKey, "suite": OutboxEnvelopeFormat.suite]) != nil)
        #expect(OutboxKey(answer: ["key_id": "short", "public_key": publicKey, "suite": OutboxEnvelopeFormat.suite]) == nil)
        #expect(OutboxKey(answer: ["key_id": "0123456789abcdef", "public_key": "AAAA", "suite": OutboxEnvelopeFormat.suite]) == nil)
        #expect(OutboxKey(answer: ["key_id": "0123456789abcdef", "public_key": publicKey, "suite": "X25519, ChaCha20"]) == nil)
    }

    @Test func entriesOnDiskHoldNoPlainText() throws {
        let server = ServerKey(), directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let envelope = try SealedEnvelope.seal(method: "POST", path: "/v1/incidents", idempotencyKey: "key-1", body: Self.body, to: try server.outboxKey)
        let outbox = Outbox.opened(directory, sealingOlderEntriesTo: try server.outboxKey)
        let entry = try outbox.add(command: "report", incidentID: "0b6e2c1a-0000-4000-8000-000000000001", envelope: envelope)
        let path = directory + "/" + entry.id + ".json"
        let bytes = try #require(FileManager.default.contents(atPath: path))
        let text = String(decoding: bytes, as: UTF8.self)
        #expect(!text.contains("assaulted"))
        #expect(!text.contains(Self.body.base64EncodedString()))
        #expect(!text.contains("/v1/incidents"))
        #expect(text.contains("\"command\":\"report\""))
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)
        #expect(mode.intValue & 0o777 == 0o600)
        let entries = outbox.entries()
        #expect(entries.map(\.id) == [entry.id])
        #expect(entries.first?.label == "report 0b6e2c1a-0000-4000-8000-000000000001")
        #expect(entries.first?.envelope == envelope)
        // What is kept opens to the request as it would have been sent.
        let opened = try server.open(try #require(entries.first?.envelope))
        #expect(Data(base64Encoded: opened.inner["body"] as? String ?? "") == Self.body)
    }

    @Test func plainTextEntriesOfAnOlderICtlAreSealed() throws {
        let server = ServerKey(), directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let older: [String: Any] = [
            "id": "1764000000000000-abcdef12", "createdAt": 786_000_000.0, "method": "POST",
            "path": "/v1/incidents/0b6e2c1a-0000-4000-8000-000000000003/amendments", "body": Self.body.base64EncodedString(), "idempotencyKey": "k",
        ]
        let path = directory + "/1764000000000000-abcdef12.json"
        try JSONSerialization.data(withJSONObject: older).write(to: URL(fileURLWithPath: path))
        let outbox = Outbox.opened(directory, sealingOlderEntriesTo: try server.outboxKey)
        let text = String(decoding: try #require(FileManager.default.contents(atPath: path)), as: UTF8.self)
        #expect(!text.contains(Self.body.base64EncodedString()))
        let entry = try #require(outbox.entries().first)
        #expect(entry.command == "amend")
        #expect(entry.incidentID == "0b6e2c1a-0000-4000-8000-000000000003")
        let opened = try server.open(entry.envelope)
        #expect(opened.inner["idempotency_key"] as? String == "k")
        #expect(Data(base64Encoded: opened.inner["body"] as? String ?? "") == Self.body)
    }

    @Test func keptErrorsAreCodesNotText() {
        let body = Data(#"{"error":{"code":"validation_failed <script>","message":"summary: Two men assaulted"}}"#.utf8)
        #expect(Outbox.errorCode(APIResponse(status: 422, body: body)) == "422 validation_failedscript")
        #expect(Outbox.errorCode(APIResponse(status: 503, body: Data("down".utf8))) == "503")
    }
}
