import Foundation

/// An incident's events as a timeline for a person (`ictl show --history` on a terminal): one
/// line per event (time, version, what happened, who), then what changed: each amended field's
/// old and new value and the reason, a decision's note, a retraction's reason.
struct IncidentTimeline {
    /// The `events` of the API's answer, oldest first.
    let events: [[String: Any]]
    let terminal: Terminal

    static let words = [
        "IncidentReported": "reported", "IncidentAmended": "amended", "IncidentVerified": "verified", "IncidentRejected": "rejected",
        "IncidentRetracted": "retracted", "PersonalDataErased": "personal data erased", "NarrativeRedacted": "narrative redacted",
    ]

    /// `2026-12-04T22:40:59.240Z` as `2026-12-04 22:40 UTC`; a date or anything else as it is.
    static func moment(_ timestamp: String) -> String {
        guard timestamp.count >= 16, timestamp.hasSuffix("Z"), let t = timestamp.firstIndex(of: "T") else { return timestamp }
        return timestamp[..<t] + " " + timestamp[timestamp.index(after: t)...].prefix(5) + " UTC"
    }

    func lines() -> [String] {
        var record: [String: Any] = [:]
        var lines = [terminal.paint("History", .bold)]
        for event in events {
            let type = Output.string(event["type"])
            let data = event["data"] as? [String: Any] ?? [:]
            let metadata = event["metadata"] as? [String: Any] ?? [:]
            let word = Self.words[type] ?? type
            let who = metadata["principal"].map { Output.readable($0) + (metadata["role"].map { " (\(Output.readable($0)))" } ?? "") } ?? ""
            lines.append(
                "  " + terminal.paint(Self.moment(Output.string(event["recorded_at"])), .dim) + "  v" + Output.readable(event["stream_version"]) + "  "
                    + terminal.paint(word, .status(word)) + String(repeating: " ", count: max(0, 10 - word.count)) + "  " + who)
            lines += details(type, data, record: &record).flatMap { Output.wrap($0, width: terminal.width, indent: "      ") }
        }
        return lines
    }

    /// What an event changed, one line each; `record` is the incident as the events so far made it.
    private func details(_ type: String, _ data: [String: Any], record: inout [String: Any]) -> [String] {
        switch type {
        case "IncidentReported":
            record = data
            return []
        case "IncidentAmended":
            let changes = data["changes"] as? [String: Any] ?? [:]
            let lines = changes.keys.sorted().map { key in "\(key): \(Output.readable(record[key])) → \(Output.readable(changes[key]))" }
            for (key, value) in changes { record[key] = value }
            return lines + ["reason: " + Output.readable(data["reason"])]
        default:
            return data.keys.sorted().filter { !(data[$0] is [String: Any]) }.map { "\($0.replacingOccurrences(of: "_", with: " ")): \(Output.readable(data[$0]))" }
        }
    }
}
