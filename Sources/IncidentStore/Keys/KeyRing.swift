import Crypto
import Foundation
import PostgresLibpq
import Synchronization

/// What a stored key is for: each purpose has keys of its own, and a key wrapped for one purpose
/// does not unwrap as another's (the purpose is part of the wrapping's associated data).
public enum KeyPurpose: String, Sendable, CaseIterable {
    /// An incident's personal data (`personal`).
    case personal
    /// An incident's free text (summary, place, actors, reasons, notes).
    case narrative
    /// The server's X25519 key for the sealed offline outbox.
    case outbox
    /// A webhook subscription's signing secret.
    case webhook
}

/// A key as the database stores it: sealed (AES-256-GCM) by a master key, whose id it names.
public struct WrappedKey: Sendable, Equatable {
    public var masterKeyID: String
    /// Nonce, ciphertext and tag (`AES.GCM.SealedBox.combined`).
    public var bytes: Data

    public init(masterKeyID: String, bytes: Data) {
        self.masterKeyID = masterKeyID
        self.bytes = bytes
    }
}

public enum KeyRingError: Error, CustomStringConvertible {
    /// A stored key names a master key this process does not hold and cannot find.
    case unknownMasterKey(String)
    /// A stored key does not open under its master key: altered, or moved to another incident or purpose.
    case corrupt(purpose: KeyPurpose, subject: String)

    public var description: String {
        switch self {
        case .unknownMasterKey(let id): "a key is wrapped by master key \(id), which this daemon does not hold"
        case .corrupt(let purpose, let subject): "the \(purpose.rawValue) key of \(subject) does not open under its master key"
        }
    }
}

/// The master keys this process holds, and which one wraps new keys.
///
/// Usually one. While `incidentd keys rotate` runs, two: the database's `master_key_state` says
/// which is current and where both files are, and a daemon that meets a key of the other one
/// loads it from there, so it keeps serving through the rotation.
public final class KeyRing: Sendable {
    private struct State {
        var keys: [String: MasterKey]
        var current: String
    }

    private let state: Mutex<State>

    public init(_ master: MasterKey) {
        state = Mutex(State(keys: [master.id: master], current: master.id))
    }

    /// Holds `key` too (a rotation's new key), without making it current.
    func hold(_ key: MasterKey) {
        state.withLock { $0.keys[key.id] = key }
    }

    /// The id of the master key that wraps new keys.
    public var currentID: String { state.withLock { $0.current } }

    var current: MasterKey { state.withLock { $0.keys[$0.current]! } }

    /// Wraps `key` under the current master key (or `master`), bound to its purpose and subject.
    public func wrap(_ key: SymmetricKey, purpose: KeyPurpose, subject: String, under master: MasterKey? = nil) throws -> WrappedKey {
        let master = master ?? current
        let box = try AES.GCM.seal(
            key.withUnsafeBytes { Data($0) }, using: master.wrappingKey,
            authenticating: Self.associatedData(purpose: purpose, subject: subject, masterKeyID: master.id)
        )
        return WrappedKey(masterKeyID: master.id, bytes: box.combined!)
    }

    /// Opens a wrapped key. A master key the ring does not hold is looked up in
    /// `master_key_state` on `connection` (a rotation under way) before giving up.
    /// - Throws: ``KeyRingError``.
    public func unwrap(_ wrapped: WrappedKey, purpose: KeyPurpose, subject: String, on connection: PostgresConnection? = nil) throws -> SymmetricKey {
        var master = state.withLock { $0.keys[wrapped.masterKeyID] }
        if master == nil, let connection {
            try learn(from: connection, locking: false)
            master = state.withLock { $0.keys[wrapped.masterKeyID] }
        }
        guard let master else { throw KeyRingError.unknownMasterKey(wrapped.masterKeyID) }
        guard let box = try? AES.GCM.SealedBox(combined: wrapped.bytes),
            let bytes = try? AES.GCM.open(
                box, using: master.wrappingKey,
                authenticating: Self.associatedData(purpose: purpose, subject: subject, masterKeyID: master.id))
        else { throw KeyRingError.corrupt(purpose: purpose, subject: subject) }
        return SymmetricKey(data: bytes)
    }

    /// The master key that wraps keys made in the caller's transaction, as `master_key_state`
    /// says, with its row share-locked: a rotation's switch waits for this transaction, and this
    /// one sees the switch if it came first. Call it in the transaction that inserts the keys.
    func currentForNewKeys(on connection: PostgresConnection) throws -> MasterKey {
        try learn(from: connection, locking: true)
        return current
    }

    /// Takes in `master_key_state`: its current key (loaded from the recorded file when the ring
    /// does not hold it) becomes the ring's current. Without a row, the ring keeps its own.
    private func learn(from connection: PostgresConnection, locking: Bool) throws {
        guard
            let row = try connection.query(
                "SELECT current_key_id, current_key_path, previous_key_id, previous_key_path FROM master_key_state" + (locking ? " FOR SHARE" : "")
            ).first
        else { return }
        let current: String = try row.decode(0)
        for (id, path) in [
            (current, try row.decodeIfPresent(1, as: String.self)), (try row.decodeIfPresent(2, as: String.self), try row.decodeIfPresent(3, as: String.self)),
        ] {
            guard let id, state.withLock({ $0.keys[id] == nil }), let path else { continue }
            let loaded = try MasterKey.load(path: path)
            guard loaded.id == id else { throw MasterKeyError.notThisDatabase(path: path, given: loaded.id, expected: id) }
            state.withLock { $0.keys[id] = loaded }
        }
        guard state.withLock({ $0.keys[current] != nil }) else { throw KeyRingError.unknownMasterKey(current) }
        state.withLock { $0.current = current }
    }

    /// Binds the database to this ring's master key at start (as the owner, in a transaction): a
    /// new database records it as current; otherwise the ring's key must be the database's
    /// current one, or the previous one of a rotation under way (whose new key file is loaded).
    /// - Throws: ``MasterKeyError/notThisDatabase(path:given:expected:)`` for any other key.
    public func attach(on connection: PostgresConnection, path: String) throws {
        let own = currentID
        guard let row = try connection.query("SELECT current_key_id, previous_key_id FROM master_key_state FOR UPDATE").first else {
            try connection.query("INSERT INTO master_key_state (current_key_id) VALUES ($1)", [own])
            return
        }
        let current: String = try row.decode(0)
        let previous: String? = try row.decodeIfPresent(1)
        guard own == current || own == previous else {
            throw MasterKeyError.notThisDatabase(path: path, given: own, expected: current)
        }
        try learn(from: connection, locking: false)
    }

    static func associatedData(purpose: KeyPurpose, subject: String, masterKeyID: String) -> Data {
        Data("incident-log wrapped key v1\0\(purpose.rawValue)\0\(subject)\0\(masterKeyID)".utf8)
    }
}
