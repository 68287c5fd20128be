import Crypto
import Foundation
import PostgresLibpq

/// Deterministic authenticated encryption under an incident's key: AES-256-GCM, the nonce an
/// HMAC-SHA256 of context and plaintext under a nonce key, and the context (what the text is and
/// whose) as associated data. The same text in the same place seals to the same bytes, so a
/// retried request is identical (idempotency); a ciphertext moved to another incident or field
/// does not open. Equal texts in one place reveal their equality.
///
/// A key made today is 64 random bytes: the AES key, then the nonce key — two separate keys,
/// nothing to derive when a text is sealed or opened. A 32-byte key (an incident's personal key
/// from an earlier version) gives both by HKDF-SHA256, as it always did.
enum Sealing {
    /// A new incident key for sealing.
    static func newKey() -> SymmetricKey { SymmetricKey(size: SymmetricKeySize(bitCount: 512)) }

    static func seal(_ plaintext: Data, with key: SymmetricKey, context: String) throws -> Data {
        let (sealingKey, nonceKey) = parts(of: key)
        let context = Data(context.utf8)
        let nonce = try AES.GCM.Nonce(data: Data(HMAC<SHA256>.authenticationCode(for: context + [0] + plaintext, using: nonceKey).prefix(12)))
        return try AES.GCM.seal(plaintext, using: sealingKey, nonce: nonce, authenticating: context).combined!
    }

    static func open(_ combined: Data, with key: SymmetricKey, context: String) -> Data? {
        guard let box = try? AES.GCM.SealedBox(combined: combined) else { return nil }
        return try? AES.GCM.open(box, using: parts(of: key).sealing, authenticating: Data(context.utf8))
    }

    private static func parts(of key: SymmetricKey) -> (sealing: SymmetricKey, nonce: SymmetricKey) {
        guard key.bitCount == 512 else {
            return (KeyDerivation.derive(from: key, info: "incident-log/v1/seal"), KeyDerivation.derive(from: key, info: "incident-log/v1/nonce"))
        }
        return key.withUnsafeBytes { bytes in
            (SymmetricKey(data: UnsafeRawBufferPointer(rebasing: bytes[..<32])), SymmetricKey(data: UnsafeRawBufferPointer(rebasing: bytes[32...])))
        }
    }
}
