import Foundation

/// What a subscription may be called (`POST /v1/admin/subscriptions`, `ictl admin subscription`):
/// the daemon refuses any other name, and `ictl` checks before a name becomes part of a path.
public enum SubscriptionNames {
    /// The rule, as both say it when a name breaks it.
    public static let rule = "1 to 63 of a-z, 0-9, '_', '.', '-', starting with a letter or digit"

    /// Whether `name` keeps ``rule`` (the same pattern as the table's check).
    public static func isValid(_ name: String) -> Bool {
        name.range(of: "^[a-z0-9][a-z0-9_.-]{0,62}$", options: .regularExpression) != nil
    }
}
