import Crypto
import Foundation
import PostgresLibpq

/// An incident's keys, one per purpose and generation, stored only wrapped (`incident_keys`).
/// The one owner of that table.
struct IncidentKeys: Sendable {
    let ring: KeyRing

    /// The stored key, or nil when there is none (never made, or destroyed).
    func key(_ purpose: KeyPurpose, of incidentID: UUID, generation: Int = 1, on connection: PostgresConnection) throws -> SymmetricKey? {
        guard
            let row = try connection.query(
                "SELECT master_key_id, encode(wrapped_key, 'hex') FROM incident_keys WHERE incident_id = $1 AND purpose = $2 AND generation = $3",
                [incidentID, purpose.rawValue, generation]
            ).first
        else { return nil }
        let wrapped = WrappedKey(masterKeyID: try row.decode(0), bytes: Data(hex: try row.decode(1, as: String.self)))
        return try ring.unwrap(wrapped, purpose: purpose, subject: incidentID.postgresText, on: connection)
    }

    /// The latest generation of the incident's key for `purpose`, or nil when it has none.
    func latest(_ purpose: KeyPurpose, of incidentID: UUID, on connection: PostgresConnection) throws -> (generation: Int, key: SymmetricKey)? {
        guard
            let row = try connection.query(
                """
                SELECT generation, master_key_id, encode(wrapped_key, 'hex') FROM incident_keys
                WHERE incident_id = $1 AND purpose = $2 ORDER BY generation DESC LIMIT 1
                """, [incidentID, purpose.rawValue]
            ).first
        else { return nil }
        let wrapped = WrappedKey(masterKeyID: try row.decode(1), bytes: Data(hex: try row.decode(2, as: String.self)))
        return (try row.decode(0), try ring.unwrap(wrapped, purpose: purpose, subject: incidentID.postgresText, on: connection))
    }

    /// Every stored generation of the given incidents' keys for `purpose`, in one query.
    func all(_ purpose: KeyPurpose, of incidents: [UUID], on connection: PostgresConnection) throws -> [UUID: [Int: SymmetricKey]] {
        guard !incidents.isEmpty else { return [:] }
        var found: [UUID: [Int: SymmetricKey]] = [:]
        for row in try connection.query(
            """
            SELECT incident_id, generation, master_key_id, encode(wrapped_key, 'hex') FROM incident_keys
            WHERE purpose = $1 AND incident_id = ANY($2::uuid[])
            """, [purpose.rawValue, postgresArray(incidents)]
        ).rows {
            let incidentID: UUID = try row.decode(0)
            let wrapped = WrappedKey(masterKeyID: try row.decode(2), bytes: Data(hex: try row.decode(3, as: String.self)))
            found[incidentID, default: [:]][try row.decode(1)] = try ring.unwrap(wrapped, purpose: purpose, subject: incidentID.postgresText, on: connection)
        }
        return found
    }

    /// Makes and stores a key unless one is there already (a concurrent request may have won),
    /// and returns the stored one. Call it in the transaction that uses the key.
    func create(_ purpose: KeyPurpose, of incidentID: UUID, generation: Int = 1, on connection: PostgresConnection) throws -> SymmetricKey {
        // One statement, so it holds in autocommit too: the key goes in only under the master key
        // that `master_key_state` names while share-locked (a rotation's switch waits for it).
        // Under a stale one, the ring learns the new one and wraps again.
        for _ in 0..<2 {
            let master = try ring.currentForNewKeys(on: connection)
            let wrapped = try ring.wrap(Sealing.newKey(), purpose: purpose, subject: incidentID.postgresText, under: master)
            try connection.query(
                """
                WITH master_key AS (SELECT current_key_id FROM master_key_state FOR SHARE)
                INSERT INTO incident_keys (incident_id, purpose, generation, master_key_id, wrapped_key)
                SELECT $1, $2, $3, $4, decode($5, 'hex')
                WHERE $4 = coalesce((SELECT current_key_id FROM master_key), $4)
                ON CONFLICT DO NOTHING
                """, [incidentID, purpose.rawValue, generation, wrapped.masterKeyID, wrapped.bytes.hexString])
            if let key = try key(purpose, of: incidentID, generation: generation, on: connection) { return key }
        }
        throw KeyRingError.unknownMasterKey(ring.currentID)
    }

    /// A new key wrapped for `incidentID`, not stored: for a statement that inserts it beside the
    /// data it seals (the group write of new reports), which checks the master key id itself.
    func fresh(_ purpose: KeyPurpose, of incidentID: UUID, under master: MasterKey) throws -> (key: SymmetricKey, wrapped: WrappedKey) {
        let key = Sealing.newKey()
        return (key, try ring.wrap(key, purpose: purpose, subject: incidentID.postgresText, under: master))
    }

    /// Destroys the incident's keys for `purpose` (crypto-shredding): every generation, or those up to `generation`.
    func destroy(_ purpose: KeyPurpose, of incidentID: UUID, upTo generation: Int = Int(Int32.max), on connection: PostgresConnection) throws {
        try connection.query(
            "DELETE FROM incident_keys WHERE incident_id = $1 AND purpose = $2 AND generation <= $3",
            [incidentID, purpose.rawValue, generation])
    }
}
