import Foundation

/// Subscriptions and their dead letters as rows (`ictl admin subscription list`, `show` as CSV,
/// `dead-letters`): the API's values in CSV (`retrying` as yes or no), times to the minute in a
/// table for a person.
enum SubscriptionRows {
    static let columns = ["NAME", "STATE", "TARGET", "LAG", "DELIVERED", "DEAD", "LAST DELIVERY", "OUTCOME", "LAST ERROR"]

    /// A subscription object of the API as a row of ``columns``.
    static func row(_ subscription: [String: Any]) -> [String] {
        let last = subscription["last_delivery"] as? [String: Any] ?? [:]
        let failures = subscription["failures"] as? [String: Any] ?? [:]
        return [
            Output.string(subscription["name"]), Output.string(subscription["state"]), target(subscription),
            Output.string(subscription["lag_events"]), Output.string(subscription["delivered"]), Output.string(subscription["dead_letters"]),
            Output.string(last["at"]), outcome(last), Output.string(failures["last_error"]),
        ]
    }

    /// The webhook's URL, or `pull`.
    static func target(_ subscription: [String: Any]) -> String {
        let target = subscription["target"] as? [String: Any] ?? [:]
        let kind = Output.string(target["kind"])
        return kind == "webhook" ? Output.string(target["url"]) : kind
    }

    /// A delivery's outcome and the receiver's HTTP status: `delivered (200)`, `failed`.
    static func outcome(_ delivery: [String: Any]) -> String {
        let status = Output.string(delivery["status"])
        return Output.string(delivery["outcome"]) + (status.isEmpty ? "" : " (\(status))")
    }

    /// `active` is green, `paused` yellow; the word is always there.
    static func stateStyle(_ state: String) -> Terminal.Style? { ["active": .green, "paused": .yellow][state] }

    /// The subscriptions for a person: on a narrow terminal the last error, the outcome, the
    /// delivered count and the last delivery's time are left out in that order, and the last
    /// error, the target and the name are truncated.
    static func table(_ subscriptions: [[String: Any]]) -> Table {
        let rows = subscriptions.map(row).map { minutes($0, in: columns, ["LAST DELIVERY"]) }
        return Table(
            titles: columns, rows: rows, flexible: [("LAST ERROR", 16), ("TARGET", 16), ("NAME", 12)],
            dropping: ["LAST ERROR", "OUTCOME", "DELIVERED", "LAST DELIVERY"], styles: ["STATE": stateStyle])
    }

    static let deadLetterColumns = ["EVENT", "POSITION", "ATTEMPTS", "DEAD AT", "RETRYING", "NEXT ATTEMPT", "LAST ERROR"]

    /// A dead letter of the API as a row of ``deadLetterColumns``.
    static func deadLetterRow(_ letter: [String: Any]) -> [String] {
        [
            Output.string(letter["event_id"]), Output.string(letter["global_position"]), Output.string(letter["attempts"]),
            Output.string(letter["dead_at"]), Output.readable(letter["retrying"]), Output.string(letter["next_attempt_at"]),
            Output.string(letter["last_error"]),
        ]
    }

    /// The dead letters for a person: the event id always whole (`retry` takes it); on a narrow
    /// terminal the position, the next attempt and the attempts are left out, then the last error
    /// is truncated.
    static func deadLetterTable(_ letters: [[String: Any]]) -> Table {
        let rows = letters.map(deadLetterRow).map { minutes($0, in: deadLetterColumns, ["DEAD AT", "NEXT ATTEMPT"]) }
        return Table(
            titles: deadLetterColumns, rows: rows, flexible: [("LAST ERROR", 16)], dropping: ["POSITION", "NEXT ATTEMPT", "ATTEMPTS"])
    }

    /// `row` with the timestamps of the columns `titled` to the minute, as a person reads them.
    private static func minutes(_ row: [String], in columns: [String], _ titled: Set<String>) -> [String] {
        zip(columns, row).map { titled.contains($0) ? IncidentTimeline.moment($1) : $1 }
    }
}
