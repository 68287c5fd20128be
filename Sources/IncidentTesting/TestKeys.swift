import Crypto
import Foundation
import IncidentStore

/// The master key of a test process: random, made once. Every test database made by
/// ``TestDatabase`` is bound to it, and daemons started by tests read it from ``file``.
public enum TestKeys {
    static let bytes = SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }
    public static let master = MasterKey(bytes: bytes)
    public static let ring = KeyRing(master)

    /// The key in a file of its own (mode 0600), removed when the test process exits.
    public static let file: String = {
        let path = FileManager.default.temporaryDirectory.path + "/incident-test-key-\(getpid()).key"
        unlink(path)
        _ = FileManager.default.createFile(atPath: path, contents: bytes, attributes: [.posixPermissions: 0o600])
        atexit { unlink(FileManager.default.temporaryDirectory.path + "/incident-test-key-\(getpid()).key") }
        return path
    }()
}
