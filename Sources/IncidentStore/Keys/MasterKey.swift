import Crypto
import Foundation

public enum MasterKeyError: Error, Equatable, CustomStringConvertible {
    case missing(path: String)
    case exists(path: String)
    case unreadable(path: String, reason: String)
    case wrongSize(path: String, bytes: Int)
    case exposed(path: String, mode: String)
    /// The database's keys are wrapped by another master key than the one given.
    case notThisDatabase(path: String, given: String, expected: String)

    public var description: String {
        switch self {
        case .missing(let path): "no master key file at \(path); create one with `incidentd keys init --master-key-file \(path)`"
        case .exists(let path): "\(path) exists already; a master key is never overwritten (move it away first, or rotate with `incidentd keys rotate`)"
        case .unreadable(let path, let reason): "cannot read the master key file \(path): \(reason)"
        case .wrongSize(let path, let bytes): "\(path) holds \(bytes) bytes; a master key file holds exactly 32"
        case .exposed(let path, let mode): "\(path) is readable by others (mode \(mode)); run `chmod 600 \(path)`"
        case .notThisDatabase(let path, let given, let expected):
            "the master key in \(path) (id \(given)) is not this database's (id \(expected)); give the right --master-key-file"
        }
    }
}

/// The master key: 32 random bytes in a file outside the database (mode 0600). Every key the
/// database stores is wrapped by it, so a dump of the database alone opens nothing.
///
/// It is never used directly: each use has a key of its own derived with HKDF-SHA256.
public struct MasterKey: Sendable {
    /// A public fingerprint (16 hex digits of a SHA-256 over the key), stored beside each key it
    /// wraps so that the right master key is found during a rotation. Reveals nothing of the key.
    public let id: String
    /// Kept as bytes: `SymmetricKey` is not `Sendable`.
    private let bytes: Data

    /// The key that wraps stored keys, derived once: every key read or made uses it.
    private let wrapping: Data

    public init(bytes: Data) {
        self.bytes = bytes
        wrapping = KeyDerivation.derive(from: SymmetricKey(data: bytes), info: "incident-log/v1/wrap")
            .withUnsafeBytes { Data($0) }
        id = SHA256.hash(data: Data("incident-log master key id\0".utf8) + bytes).prefix(8).hexString
    }

    /// The key that wraps the keys the database stores (`derived("wrap")`).
    var wrappingKey: SymmetricKey { SymmetricKey(data: wrapping) }

    /// A key for one purpose (`info` names it), independent of every other purpose's key.
    func derived(_ info: String) -> SymmetricKey {
        KeyDerivation.derive(from: SymmetricKey(data: bytes), info: "incident-log/v1/" + info)
    }

    /// Reads a master key file.
    /// - Throws: ``MasterKeyError``: missing, unreadable, not 32 bytes, or readable by group or others.
    public static func load(path: String) throws -> MasterKey {
        var status = stat()
        guard stat(path, &status) == 0 else {
            if errno == ENOENT { throw MasterKeyError.missing(path: path) }
            throw MasterKeyError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        if status.st_mode & 0o077 != 0 {
            throw MasterKeyError.exposed(path: path, mode: String(status.st_mode & 0o777, radix: 8))
        }
        guard let bytes = FileManager.default.contents(atPath: path) else {
            throw MasterKeyError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        guard bytes.count == 32 else { throw MasterKeyError.wrongSize(path: path, bytes: bytes.count) }
        return MasterKey(bytes: bytes)
    }

    /// Creates a new master key file (32 random bytes, mode 0600), refusing to overwrite one.
    /// - Throws: ``MasterKeyError/exists(path:)`` when the file is there already.
    @discardableResult
    public static func create(path: String) throws -> MasterKey {
        let directory = (path as NSString).deletingLastPathComponent
        if !directory.isEmpty {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        }
        let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
        // O_EXCL: two processes starting at once cannot both create (and one overwrite) a key.
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o600)
        guard fd >= 0 else {
            if errno == EEXIST { throw MasterKeyError.exists(path: path) }
            throw MasterKeyError.unreadable(path: path, reason: String(cString: strerror(errno)))
        }
        defer { close(fd) }
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == 32, fsync(fd) == 0 else {
            unlink(path)
            throw MasterKeyError.unreadable(path: path, reason: "could not write it: \(String(cString: strerror(errno)))")
        }
        return MasterKey(bytes: bytes)
    }
}
