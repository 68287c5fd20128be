import Crypto
import Foundation

/// The one way a key is derived from another here: HKDF-SHA256 (RFC 5869) without salt, 32 bytes
/// out, the info naming the purpose. Computed as its two HMACs — extract under the zero salt,
/// then one expand block — which gives exactly `HKDF<SHA256>.deriveKey`'s bytes at a fraction of
/// its cost: swift-crypto's generic version is slow enough to weigh on a rebuild, which derives
/// once per sealed text.
public enum KeyDerivation {
    public static func derive(from key: SymmetricKey, info: String) -> SymmetricKey {
        let pseudoRandomKey = HMAC<SHA256>.authenticationCode(for: key.withUnsafeBytes { Data($0) }, using: zeroSalt)
        var expand = HMAC<SHA256>(key: SymmetricKey(data: pseudoRandomKey))
        expand.update(data: Data(info.utf8))
        expand.update(data: [1])
        return SymmetricKey(data: expand.finalize())
    }

    /// RFC 5869's salt when none is given: a hash length of zeros.
    private static var zeroSalt: SymmetricKey { SymmetricKey(data: Data(count: SHA256.byteCount)) }
}
