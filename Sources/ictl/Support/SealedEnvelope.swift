import Foundation
import IncidentAPI

/// How ictl seals a write for its offline outbox (docs/cli.md, ictl outbox), in the format the
/// daemon opens (`OutboxEnvelopeFormat`).
enum SealedEnvelope {
    /// The envelope (JSON) of one write, sealed to `key`.
    static func seal(method: String, path: String, idempotencyKey: String?, body: Data, to key: OutboxKey) throws -> Data {
        guard let publicKey = Data(base64Encoded: key.publicKey) else {
            throw CLIError(code: Exit.other, message: "the stored outbox key is damaged; log in again while online")
        }
        let plaintext = try OutboxEnvelopeFormat.plaintext(of: OutboxWrite(method: method, path: path, idempotencyKey: idempotencyKey, body: body))
        return try OutboxEnvelopeFormat.seal(plaintext, toPublicKey: publicKey, keyID: key.keyID)
    }
}
