import Crypto
import Foundation
import IncidentAPI

/// The server's outbox key as `GET /v1/outbox-key` gives it and the config keeps it.
///
/// It is not tied to a server address: daemons that share a database share its key, and an
/// envelope sealed to another server's key is refused by key id when delivered (and kept, sealed,
/// in rejected/).
struct OutboxKey: Codable, Equatable {
    var keyID: String
    /// X25519, 32 bytes, base64.
    var publicKey: String
    var suite: String

    enum CodingKeys: String, CodingKey {
        case keyID = "key_id"
        case publicKey = "public_key"
        case suite
    }

    /// The key in an answer of `GET /v1/outbox-key`, nil unless it is one ictl can seal to.
    init?(answer json: [String: Any]) {
        guard let keyID = json["key_id"] as? String, keyID.utf8.count == 16,
            let publicKey = json["public_key"] as? String, Data(base64Encoded: publicKey)?.count == 32,
            let suite = json["suite"] as? String, suite == OutboxEnvelopeFormat.suite
        else { return nil }
        (self.keyID, self.publicKey, self.suite) = (keyID, publicKey, suite)
    }
}
