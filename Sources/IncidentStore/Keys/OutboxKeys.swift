import Crypto
import Foundation
import PostgresLibpq

/// The public half of an outbox key pair: what `GET /v1/outbox-key` gives out.
public struct OutboxPublicKey: Sendable, Equatable {
    /// 16 hex digits: a fingerprint of the public key (``OutboxKeys/keyID(of:)``).
    public var id: String
    /// The raw X25519 public key (32 bytes).
    public var publicKey: Data

    public init(id: String, publicKey: Data) {
        self.id = id
        self.publicKey = publicKey
    }
}

public enum OutboxKeyError: Error, Equatable, CustomStringConvertible {
    /// No key pair has this id (never made here, or another server's).
    case unknown(String)
    /// The key was retired longer ago than envelopes sealed to it stay openable.
    case expired(String)

    public var description: String {
        switch self {
        case .unknown(let id): "no outbox key \(id) on this server: the envelope was sealed to another server's key"
        case .expired(let id):
            "the outbox key \(id) was retired more than \(OutboxKeys.openableDaysAfterRetirement) days ago; envelopes sealed to it are no longer opened"
        }
    }
}

/// The server's X25519 key pairs of the sealed offline outbox (`outbox_keys`); the one owner of
/// that table. The private half is stored only wrapped by the master key (purpose `outbox`,
/// subject the key id), so a dump of the database opens no envelope.
///
/// One key is current: the newest that is not retired. It stays current until an operator
/// retires it (`incidentd keys retire-outbox-key`), which makes a new one in the same
/// transaction; a master key rotation re-wraps the private keys and keeps the pairs. Envelopes
/// sealed to a retired key are opened for ``openableDaysAfterRetirement`` days after it retired.
///
/// Making and retiring keys needs the owner (the runtime role may only read the table): `serve`
/// makes the first pair at start, before anything is served.
public struct OutboxKeys: Sendable {
    public static let openableDaysAfterRetirement = 90

    let ring: KeyRing

    public init(ring: KeyRing) { self.ring = ring }

    /// A fingerprint of the public key: 16 hex digits of a SHA-256 over it. Reveals nothing of the
    /// private key; an envelope names the key it was sealed to by it.
    public static func keyID(of publicKey: Data) -> String {
        SHA256.hash(data: Data("incident-log outbox key id\0".utf8) + publicKey).prefix(8).hexString
    }

    /// The key ictl should seal to now, nil when none was made yet.
    public func current(on connection: PostgresConnection) throws -> OutboxPublicKey? {
        guard
            let row = try connection.query(
                "SELECT key_id, encode(public_key, 'hex') FROM outbox_keys WHERE retired_at IS NULL ORDER BY created_at DESC, key_id LIMIT 1"
            ).first
        else { return nil }
        return OutboxPublicKey(id: try row.decode(0), publicKey: Data(hex: try row.decode(1, as: String.self)))
    }

    /// The raw X25519 private key (32 bytes) of `keyID`, unwrapped.
    /// - Throws: ``OutboxKeyError`` for an unknown or expired key; ``KeyRingError`` when the
    ///   stored key does not open under its master key.
    public func privateKey(_ keyID: String, on connection: PostgresConnection) throws -> Data {
        guard
            let row = try connection.query(
                """
                SELECT master_key_id, encode(wrapped_key, 'hex'), retired_at IS NOT NULL AND retired_at < now() - make_interval(days => $2)
                FROM outbox_keys WHERE key_id = $1
                """, [keyID, Self.openableDaysAfterRetirement]
            ).first
        else { throw OutboxKeyError.unknown(keyID) }
        guard try row.decode(2, as: Bool.self) == false else { throw OutboxKeyError.expired(keyID) }
        let wrapped = WrappedKey(masterKeyID: try row.decode(0), bytes: Data(hex: try row.decode(1, as: String.self)))
        return try ring.unwrap(wrapped, purpose: .outbox, subject: keyID, on: connection).withUnsafeBytes { Data($0) }
    }

    /// Makes a key pair when none is current, as the owner, in the caller's transaction. The table
    /// is locked first, so two daemons starting at once make one pair, not two.
    /// - Returns: the new key, or nil when one was current already.
    @discardableResult
    public func ensureCurrent(on connection: PostgresConnection) throws -> OutboxPublicKey? {
        // Looked for first without the lock, which only the owner may take: a start as the
        // runtime role finds the key an owner's start made.
        if try current(on: connection) != nil { return nil }
        try connection.execute("LOCK TABLE outbox_keys IN SHARE ROW EXCLUSIVE MODE")
        if try current(on: connection) != nil { return nil }
        return try create(on: connection)
    }

    /// Retires every current key and makes a new pair, as the owner, in the caller's transaction.
    /// Envelopes sealed to the retired keys stay openable for ``openableDaysAfterRetirement`` days.
    /// - Returns: the ids retired and the new current key.
    public func retireCurrent(on connection: PostgresConnection) throws -> (retired: [String], current: OutboxPublicKey) {
        try connection.execute("LOCK TABLE outbox_keys IN SHARE ROW EXCLUSIVE MODE")
        let retired = try connection.query("UPDATE outbox_keys SET retired_at = now() WHERE retired_at IS NULL RETURNING key_id").rows.map {
            try $0.decode(0, as: String.self)
        }
        return (retired.sorted(), try create(on: connection))
    }

    private func create(on connection: PostgresConnection) throws -> OutboxPublicKey {
        let privateKey = Curve25519.KeyAgreement.PrivateKey()
        let publicKey = privateKey.publicKey.rawRepresentation
        let id = Self.keyID(of: publicKey)
        let master = try ring.currentForNewKeys(on: connection)
        let wrapped = try ring.wrap(SymmetricKey(data: privateKey.rawRepresentation), purpose: .outbox, subject: id, under: master)
        try connection.query(
            """
            INSERT INTO outbox_keys (key_id, public_key, master_key_id, wrapped_key) VALUES ($1, decode($2, 'hex'), $3, decode($4, 'hex'))
            """, [id, publicKey.hexString, wrapped.masterKeyID, wrapped.bytes.hexString])
        return OutboxPublicKey(id: id, publicKey: publicKey)
    }
}
