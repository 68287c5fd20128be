import Foundation

/// What a subscription may be called (`POST /v1/admin/subscriptions`, `ictl admin subscription`):
/// the daemon refuses any other name, and `ictl` checks before a name becomes part of a path.
public enum SubscriptionNames {
    /// The rule, as both say it when a name breaks it.
    public static let rule = "1 to 63 of a-z, 0-9, '_', '.', '-', starting with a letter or digit"

    /// Whether `name` keeps ``rule``: the table's check, `^[a-z0-9][a-z0-9_.-]{0,62}$` in
    /// PostgreSQL, where `$` is the end of the text (a trailing line break is not allowed).
    public static func isValid(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        func letterOrDigit(_ byte: UInt8) -> Bool { (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) }
        guard (1...63).contains(bytes.count), letterOrDigit(bytes[0]) else { return false }
        return bytes.allSatisfy { letterOrDigit($0) || $0 == UInt8(ascii: "_") || $0 == UInt8(ascii: ".") || $0 == UInt8(ascii: "-") }
    }
}
