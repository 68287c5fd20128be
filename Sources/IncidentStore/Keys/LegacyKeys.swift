import Crypto
import Foundation
import PostgresLibpq

/// The plain keys of an earlier version can be wrapped only by the database's owner.
public struct LegacyKeysNeedOwner: Error, CustomStringConvertible {
    public var description: String {
        "this database holds keys an earlier version stored in plain; start serve once with the owner's URL (--migration-database-url) to wrap them"
    }
}

/// Keys that versions before the master key stored in plain (`personal_data_keys`).
public enum LegacyKeys {
    /// Wraps every plain key into `incident_keys` under the ring's master key and drops the old
    /// table, in the caller's transaction, as the owner. Dropping the table (not deleting its
    /// rows) removes its files, so no dead tuple keeps a plain copy.
    /// - Returns: how many keys were wrapped (0 when there is no such table).
    @discardableResult
    public static func wrap(with ring: KeyRing, on connection: PostgresConnection) throws -> Int {
        guard try connection.query("SELECT to_regclass('personal_data_keys') IS NOT NULL").first?.decode(0, as: Bool.self) == true else { return 0 }
        let master = try ring.currentForNewKeys(on: connection)
        var incidents: [UUID] = []
        var wrappedKeys: [String] = []
        for row in try connection.query("SELECT incident_id, encode(data_key, 'hex') FROM personal_data_keys").rows {
            let incidentID: UUID = try row.decode(0)
            let key = SymmetricKey(data: Data(hex: try row.decode(1, as: String.self)))
            incidents.append(incidentID)
            wrappedKeys.append(try ring.wrap(key, purpose: .personal, subject: incidentID.postgresText, under: master).bytes.hexString)
        }
        if !incidents.isEmpty {
            try connection.query(
                """
                INSERT INTO incident_keys (incident_id, purpose, master_key_id, wrapped_key)
                SELECT k.incident_id, 'personal', $3, decode(k.wrapped, 'hex')
                FROM unnest($1::uuid[], $2::text[]) AS k(incident_id, wrapped)
                ON CONFLICT DO NOTHING
                """, [postgresArray(incidents), postgresArray(wrappedKeys), master.id])
        }
        do {
            try connection.execute("DROP TABLE personal_data_keys")
        } catch let error as DatabaseError where error.sqlState == "42501" {
            throw LegacyKeysNeedOwner()
        }
        return incidents.count
    }
}
