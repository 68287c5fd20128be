import Foundation
import PostgresLibpq

public enum KeyRotationError: Error, CustomStringConvertible {
    case notThisDatabase(given: String, current: String)
    case sameKey

    public var description: String {
        switch self {
        case .notThisDatabase(let given, let current):
            "the old master key (id \(given)) is not this database's (id \(current)); give the key the daemon runs with as --master-key-file"
        case .sameKey: "the new master key is the old one; create a new one with `incidentd keys init`"
        }
    }
}

/// Re-wraps every stored key under a new master key (`incidentd keys rotate`), as the owner.
///
/// First `master_key_state` names the new key current and both files, so running daemons wrap
/// new keys under it and load whichever key they meet; then the keys are re-wrapped 500 at a
/// time, each batch its own short transaction (no long transaction holds back the log's
/// readers); last the state forgets the old key (it keeps the new key's path, for a daemon
/// that learns of the rotation only afterwards). A rotation that stops halfway is resumed by
/// running it again. The log is untouched: only wrapped keys change.
public struct KeyRotation: Sendable {
    let pool: ConnectionPool
    let old: MasterKey
    let oldPath: String
    let new: MasterKey
    let newPath: String

    public init(pool: ConnectionPool, old: MasterKey, oldPath: String, new: MasterKey, newPath: String) {
        (self.pool, self.old, self.oldPath, self.new, self.newPath) = (pool, old, oldPath, new, newPath)
    }

    /// The tables that hold wrapped keys: how to read a batch not yet under `$1` (key columns
    /// first, then purpose, master key id, wrapped key in hex), and how to write it back.
    private static let tables: [(select: String, update: String)] = [
        (
            """
            SELECT incident_id::text, generation, purpose, master_key_id, encode(wrapped_key, 'hex') FROM incident_keys
            WHERE master_key_id <> $1 LIMIT $2 FOR UPDATE
            """,
            """
            UPDATE incident_keys k SET master_key_id = $1, wrapped_key = decode(u.wrapped, 'hex')
            FROM unnest($2::uuid[], $3::int[], $4::text[], $5::text[]) AS u(subject, generation, purpose, wrapped)
            WHERE k.incident_id = u.subject AND k.generation = u.generation AND k.purpose = u.purpose
            """
        ),
        (
            """
            SELECT key_id, 1, 'outbox', master_key_id, encode(wrapped_key, 'hex') FROM outbox_keys
            WHERE master_key_id <> $1 LIMIT $2 FOR UPDATE
            """,
            """
            UPDATE outbox_keys k SET master_key_id = $1, wrapped_key = decode(u.wrapped, 'hex')
            FROM unnest($2::text[], $3::int[], $4::text[], $5::text[]) AS u(subject, generation, purpose, wrapped)
            WHERE k.key_id = u.subject
            """
        ),
        (
            """
            SELECT name, 1, 'webhook', secret_master_key_id, encode(secret_wrapped, 'hex') FROM subscriptions
            WHERE secret_wrapped IS NOT NULL AND secret_master_key_id <> $1 LIMIT $2 FOR UPDATE
            """,
            """
            UPDATE subscriptions s SET secret_master_key_id = $1, secret_wrapped = decode(u.wrapped, 'hex')
            FROM unnest($2::text[], $3::int[], $4::text[], $5::text[]) AS u(subject, generation, purpose, wrapped)
            WHERE s.name = u.subject
            """
        ),
    ]

    /// Runs (or resumes) the rotation.
    /// - Parameter progress: called after each batch with the number of keys re-wrapped so far.
    /// - Returns: how many keys were re-wrapped.
    /// - Throws: ``KeyRotationError`` when the old key is not the database's.
    @discardableResult
    public func run(batchSize: Int = 500, progress: @Sendable (Int) -> Void = { _ in }) async throws -> Int {
        guard old.id != new.id else { throw KeyRotationError.sameKey }
        try await pool.withConnection { [old, oldPath, new, newPath] connection in
            try connection.transaction { connection in
                let row = try connection.query("SELECT current_key_id, previous_key_id FROM master_key_state FOR UPDATE").first
                let current: String? = try row?.decode(0)
                let previous: String? = try row?.decodeIfPresent(1)
                guard current == nil || current == old.id || (current == new.id && (previous == nil || previous == old.id)) else {
                    throw KeyRotationError.notThisDatabase(given: old.id, current: current!)
                }
                try connection.query(
                    """
                    INSERT INTO master_key_state (current_key_id, current_key_path, previous_key_id, previous_key_path) VALUES ($1, $2, $3, $4)
                    ON CONFLICT (only_row) DO UPDATE SET current_key_id = $1, current_key_path = $2, previous_key_id = $3,
                        previous_key_path = $4, updated_at = now()
                    """, [new.id, newPath, old.id, oldPath])
            }
        }
        let ring = KeyRing(old)
        ring.hold(new)
        var total = 0
        while true {
            for table in Self.tables {
                while true {
                    let count = try await pool.withConnection { [new] connection in
                        try connection.transaction { connection -> Int in
                            var subjects: [String] = [], generations: [Int] = [], purposes: [String] = [], wrapped: [String] = []
                            for row in try connection.query(table.select, [new.id, batchSize]).rows {
                                let subject: String = try row.decode(0)
                                guard let purpose = KeyPurpose(rawValue: try row.decode(2)) else { continue }
                                let stored = WrappedKey(masterKeyID: try row.decode(3), bytes: Data(hex: try row.decode(4, as: String.self)))
                                let key = try ring.unwrap(stored, purpose: purpose, subject: subject)
                                subjects.append(subject)
                                generations.append(try row.decode(1))
                                purposes.append(purpose.rawValue)
                                wrapped.append(try ring.wrap(key, purpose: purpose, subject: subject, under: new).bytes.hexString)
                            }
                            guard !subjects.isEmpty else { return 0 }
                            try connection.query(
                                table.update, [new.id, postgresArray(subjects), postgresArray(generations), postgresArray(purposes), postgresArray(wrapped)])
                            return subjects.count
                        }
                    }
                    if count == 0 { break }
                    total += count
                    progress(total)
                }
            }
            // The old key is forgotten only when, with the state locked (no key can be made
            // meanwhile), no stored key names it or any other: else sweep again.
            let finished = try await pool.withConnection { [new] connection in
                try connection.transaction { connection -> Bool in
                    try connection.query("SELECT 1 FROM master_key_state FOR UPDATE")
                    let left: Int = try connection.query(
                        """
                        SELECT (SELECT count(*) FROM incident_keys WHERE master_key_id <> $1) + (SELECT count(*) FROM outbox_keys WHERE master_key_id <> $1)
                            + (SELECT count(*) FROM subscriptions WHERE secret_master_key_id <> $1)
                        """, [new.id]
                    ).first!.decode(0)
                    guard left == 0 else { return false }
                    try connection.query(
                        """
                        UPDATE master_key_state SET previous_key_id = NULL, previous_key_path = NULL, updated_at = now()
                        WHERE current_key_id = $1
                        """, [new.id])
                    return true
                }
            }
            if finished { break }
        }
        return total
    }
}
