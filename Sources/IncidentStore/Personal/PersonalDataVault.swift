import Crypto
import Foundation

public enum PersonalDataError: Error, Equatable, CustomStringConvertible {
    /// The incident's key was destroyed: its personal data is unreadable forever.
    case erased
    case corrupt

    public var description: String {
        switch self {
        case .erased: "the personal data of this incident was erased"
        case .corrupt: "the personal data of this incident cannot be decrypted"
        }
    }
}

/// Seals personal data with a key of the incident's own (AES-256-GCM) kept in
/// `personal_data_keys`; erasure deletes the key.
///
/// The nonce is derived from the key and the plaintext (HMAC-SHA256, first 12 bytes), so the same
/// data under the same key seals to the same bytes: a retried report is identical, as idempotency
/// requires. A nonce repeats only for identical plaintext, which reveals equality and nothing else.
public struct PersonalDataVault: Sendable {
    public init() {}

    /// Seals `personal` for `incidentID`, creating its key on first use.
    /// - Throws: ``PersonalDataError/erased`` when the incident's personal data was erased.
    public func seal(_ personal: JSONValue, incidentID: UUID, on connection: PostgresConnection) throws -> SealedPersonalData {
        try seal(personal, with: try keyCreatingIfNeeded(incidentID: incidentID, on: connection))
    }

    /// Seals `personal` under a new key, for an incident that has none yet; the caller stores the
    /// key (hex) with the event, or drops both.
    func sealWithNewKey(_ personal: JSONValue) throws -> (sealed: SealedPersonalData, keyHex: String) {
        let key = SymmetricKey(size: .bits256)
        return (try seal(personal, with: key), key.withUnsafeBytes { Data($0) }.hexString)
    }

    private func seal(_ personal: JSONValue, with key: SymmetricKey) throws -> SealedPersonalData {
        let plaintext = personal.encoded()
        let nonceBytes = Array(HMAC<SHA256>.authenticationCode(for: plaintext, using: key)).prefix(12)
        let sealed = try AES.GCM.seal(plaintext, using: key, nonce: try AES.GCM.Nonce(data: Data(nonceBytes)))
        guard let combined = sealed.combined else { throw PersonalDataError.corrupt }
        return SealedPersonalData(ciphertext: combined.base64EncodedString())
    }

    /// Opens sealed personal data. Throws ``PersonalDataError/erased`` once the key is gone.
    public func open(_ sealed: SealedPersonalData, incidentID: UUID, on connection: PostgresConnection) throws -> JSONValue {
        guard let key = try key(incidentID: incidentID, on: connection) else { throw PersonalDataError.erased }
        guard let data = Data(base64Encoded: sealed.ciphertext),
              let box = try? AES.GCM.SealedBox(combined: data),
              let plaintext = try? AES.GCM.open(box, using: key),
              let value = try? JSONValue.parse(plaintext)
        else { throw PersonalDataError.corrupt }
        return value
    }

    /// Destroys the incident's key and remembers the erasure. Returns false when already erased.
    @discardableResult
    public func erase(incidentID: UUID, on connection: PostgresConnection) throws -> Bool {
        try connection.query("DELETE FROM personal_data_keys WHERE incident_id = $1", [incidentID])
        return try connection.query(
            "INSERT INTO personal_data_erasures (incident_id) VALUES ($1) ON CONFLICT DO NOTHING", [incidentID]
        ).affectedRows == 1
    }

    private func key(incidentID: UUID, on connection: PostgresConnection) throws -> SymmetricKey? {
        guard let hex: String = try connection.query(
            "SELECT encode(data_key, 'hex') FROM personal_data_keys WHERE incident_id = $1", [incidentID]
        ).first?.decode(0) else { return nil }
        return SymmetricKey(data: Self.bytes(hex: hex))
    }

    private func keyCreatingIfNeeded(incidentID: UUID, on connection: PostgresConnection) throws -> SymmetricKey {
        if let key = try key(incidentID: incidentID, on: connection) { return key }
        let erased = try connection.query("SELECT 1 FROM personal_data_erasures WHERE incident_id = $1", [incidentID]).first != nil
        if erased { throw PersonalDataError.erased }
        let fresh = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        try connection.query("""
            INSERT INTO personal_data_keys (incident_id, data_key) VALUES ($1, decode($2, 'hex')) ON CONFLICT DO NOTHING
            """, [incidentID, fresh.hexString])
        // A concurrent request may have won: use whichever key was stored.
        guard let key = try key(incidentID: incidentID, on: connection) else { throw PersonalDataError.corrupt }
        return key
    }

    static func bytes(hex: String) -> Data {
        var data = Data(capacity: hex.utf8.count / 2)
        var iterator = hex.utf8.makeIterator()
        func nibble(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : (c | 0x20) - 87 }
        while let high = iterator.next(), let low = iterator.next() {
            data.append(nibble(high) << 4 | nibble(low))
        }
        return data
    }
}
