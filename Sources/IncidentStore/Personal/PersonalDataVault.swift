import Crypto
import Foundation
import PostgresLibpq

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

/// Seals personal data with a key of the incident's own, stored wrapped by the master key
/// (``IncidentKeys``); erasure destroys the key.
///
/// Sealing is deterministic (``Sealing``): the same data for the same incident seals to the same
/// bytes, so a retried report is identical, as idempotency requires.
public struct PersonalDataVault: Sendable {
    /// What personal data sealed today says it is.
    static let algorithm = "AES-256-GCM/HKDF-SHA256"
    /// Personal data sealed by earlier versions: the raw key, no associated data.
    static let legacyAlgorithm = "AES-256-GCM"

    let keys: IncidentKeys

    public init(keys: KeyRing) { self.keys = IncidentKeys(ring: keys) }

    /// Seals `personal` for `incidentID`, creating its key on first use.
    /// - Throws: ``PersonalDataError/erased`` when the incident's personal data was erased.
    public func seal(_ personal: JSONValue, incidentID: UUID, on connection: PostgresConnection) throws -> SealedPersonalData {
        if let key = try keys.key(.personal, of: incidentID, on: connection) { return try seal(personal, with: key, incidentID: incidentID) }
        if try isErased(incidentID, on: connection) { throw PersonalDataError.erased }
        return try seal(personal, with: try keys.create(.personal, of: incidentID, on: connection), incidentID: incidentID)
    }

    /// Seals `personal` under a new key, for an incident that has none yet; the caller stores the
    /// wrapped key with the event, or drops both.
    func sealWithNewKey(_ personal: JSONValue, incidentID: UUID, under master: MasterKey) throws -> (sealed: SealedPersonalData, wrapped: WrappedKey) {
        let (key, wrapped) = try keys.fresh(.personal, of: incidentID, under: master)
        return (try seal(personal, with: key, incidentID: incidentID), wrapped)
    }

    private func seal(_ personal: JSONValue, with key: SymmetricKey, incidentID: UUID) throws -> SealedPersonalData {
        let sealed = try Sealing.seal(personal.encoded(), with: key, context: Self.context(incidentID))
        return SealedPersonalData(algorithm: Self.algorithm, ciphertext: sealed.base64EncodedString())
    }

    /// Opens sealed personal data. Throws ``PersonalDataError/erased`` once the key is gone.
    public func open(_ sealed: SealedPersonalData, incidentID: UUID, on connection: PostgresConnection) throws -> JSONValue {
        guard let key = try keys.key(.personal, of: incidentID, on: connection) else { throw PersonalDataError.erased }
        guard let data = Data(base64Encoded: sealed.ciphertext) else { throw PersonalDataError.corrupt }
        let plaintext: Data?
        switch sealed.algorithm {
        case Self.algorithm: plaintext = Sealing.open(data, with: key, context: Self.context(incidentID))
        case Self.legacyAlgorithm: plaintext = (try? AES.GCM.SealedBox(combined: data)).flatMap { try? AES.GCM.open($0, using: key) }
        default: plaintext = nil
        }
        guard let plaintext, let value = try? JSONValue.parse(plaintext) else { throw PersonalDataError.corrupt }
        return value
    }

    /// Destroys the incident's key and remembers the erasure. Returns false when already erased.
    @discardableResult
    public func erase(incidentID: UUID, on connection: PostgresConnection) throws -> Bool {
        try keys.destroy(.personal, of: incidentID, on: connection)
        return try connection.query(
            "INSERT INTO personal_data_erasures (incident_id) VALUES ($1) ON CONFLICT DO NOTHING", [incidentID]
        ).affectedRows == 1
    }

    func isErased(_ incidentID: UUID, on connection: PostgresConnection) throws -> Bool {
        try connection.query("SELECT 1 FROM personal_data_erasures WHERE incident_id = $1", [incidentID]).first != nil
    }

    static func context(_ incidentID: UUID) -> String { "personal\0" + incidentID.postgresText }
}
