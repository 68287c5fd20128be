import Foundation

/// How long a new token lives (docs/operations.md, Tokens): a duration (`90d`, `12h`, `30m`), or `never`,
/// which must be said. Absent, it is ``defaultText`` for every role: `incidentd token create`
/// and `POST /v1/admin/tokens` alike.
enum TokenExpiry: Equatable {
    case never
    case after(TimeInterval)

    static let defaultText = "90d"

    /// What `text` asks for; nil text is the default; nil when it is neither a duration nor `never`.
    static func parse(_ text: String?) -> TokenExpiry? {
        let text = text ?? defaultText
        if text == "never" { return .never }
        guard let unit = text.last, let amount = Double(text.dropLast()), amount > 0, amount <= 3650 * 24 * 60 else { return nil }
        switch unit {
        case "d": return .after(amount * 86_400)
        case "h": return .after(amount * 3600)
        case "m": return .after(amount * 60)
        default: return nil
        }
    }

    /// The moment a token made at `now` expires; nil for `never`.
    func expiresAt(from now: Date = Date()) -> Date? {
        switch self {
        case .never: nil
        case .after(let interval): now.addingTimeInterval(interval)
        }
    }

    static let usage = "a duration such as 90d (the default), 12h or 30m, or never"
}
