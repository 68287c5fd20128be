import Crypto
import Foundation

/// One numbered SQL file of `Migrations/`, embedded in the binary (see `scripts/embed-migrations`).
public struct Migration: Sendable, Equatable {
    /// The file name, e.g. `0001_events.sql`.
    public let name: String
    public let sql: String

    public init(name: String, sql: String) {
        self.name = name
        self.sql = sql
    }

    /// The number the file name starts with.
    public var version: Int { Int(name.prefix(while: \.isNumber)) ?? 0 }

    /// SHA-256 of the file's bytes, hex: an applied migration whose file changed is refused.
    public var checksum: String {
        SHA256.hash(data: Data(sql.utf8)).hexString
    }
}

public enum MigrationError: Error, CustomStringConvertible {
    case checksumMismatch(name: String, applied: String, current: String)
    case unknownApplied(version: Int, name: String)

    public var description: String {
        switch self {
        case .checksumMismatch(let name, let applied, let current):
            "migration \(name) was edited after it was applied (applied checksum \(applied.prefix(12))…, file now \(current.prefix(12))…); restore the file and put the change in a new migration"
        case .unknownApplied(let version, let name):
            "the database has migration \(name) (version \(version)) that this build does not know; run a newer incidentd"
        }
    }
}
