import Foundation

/// One subscription laid out for a person (`ictl admin subscription show` on a terminal): its
/// name and state, then what it delivers and where (**Definition**) and how far delivery got
/// (**Delivery**: lag, counts, the last delivery, the current event's failures, the checkpoint).
struct SubscriptionCard {
    /// The API's subscription object.
    let subscription: [String: Any]
    /// Region and category names beside the filter's codes, where known.
    let names: ReferenceNames
    let terminal: Terminal

    func lines() -> [String] {
        let name = Output.string(subscription["name"]), state = Output.string(subscription["state"])
        var lines = [terminal.paint(name, .bold) + "  " + terminal.paint(state, SubscriptionRows.stateStyle(state))]
        for (title, body) in [("Definition", definition()), ("Delivery", delivery())] { lines += [""] + [terminal.paint(title, .bold)] + body }
        return lines
    }

    private func field(_ label: String, _ text: String) -> String { Output.field(label, text, width: terminal.width) }

    private func definition() -> [String] {
        let confidential = subscription["include_confidential"] as? Bool == true
        return [
            field("Target", SubscriptionRows.target(subscription)),
            field("Consumers", Output.readable(subscription["consumers"])),
            field("Filter", filter()),
            field("Confidential", confidential ? "included (seen as an admin sees them)" : "left out"),
            field("Created", IncidentTimeline.moment(Output.string(subscription["created_at"])) + " by " + Output.readable(subscription["created_by"])),
        ]
    }

    /// The filter's members that narrow it, regions and categories by their names; `every event` when none does.
    func filter() -> String {
        let filter = subscription["filter"] as? [String: Any] ?? [:]
        let named: [(String, String, (String) -> String)] = [
            ("categories", "categories", { code in names.labels[code].map { "\($0) (\(code))" } ?? code }),
            ("subcategories", "sub-categories", { $0 }), ("municipalities", "municipalities", names.region), ("districts", "districts", names.region),
            ("event_types", "event types", { $0 }), ("statuses", "statuses", { $0 }),
        ]
        var parts = named.compactMap { key, label, name -> String? in
            guard let values = filter[key] as? [Any], !values.isEmpty else { return nil }
            return label + ": " + values.map { name(Output.string($0)) }.joined(separator: ", ")
        }
        for (key, label) in [("min_killed", "at least killed"), ("min_casualties", "at least killed and injured")] where !(filter[key] is NSNull) && filter[key] != nil {
            parts.append(label + ": " + Output.readable(filter[key]))
        }
        return parts.isEmpty ? "every event" : parts.joined(separator: "; ")
    }

    private func delivery() -> [String] {
        let failures = subscription["failures"] as? [String: Any] ?? [:]
        var lines = [
            field("Lag", Output.readable(subscription["lag_events"]) + " event(s) behind the log"),
            field("Delivered", Output.readable(subscription["delivered"])),
            field("Dead letters", Output.readable(subscription["dead_letters"])),
        ]
        if let last = subscription["last_delivery"] as? [String: Any] {
            let error = last["error"].map(Output.readable).map { $0 == "—" ? "" : ": " + $0 } ?? ""
            let text = IncidentTimeline.moment(Output.string(last["at"])) + "  " + SubscriptionRows.outcome(last) + error
            lines += [field("Last delivery", text), field("", "event " + Output.readable(last["event_id"]))]
        } else {
            lines.append(field("Last delivery", "none yet"))
        }
        if let attempts = failures["attempts"] as? Int, attempts > 0 {
            lines.append(field("Failing", "\(attempts) tr\(attempts == 1 ? "y" : "ies") of the next event so far"))
            lines.append(field("Next try", IncidentTimeline.moment(Output.string(failures["next_attempt_at"]))))
            lines.append(field("Last error", Output.readable(failures["last_error"])))
        }
        return lines + [field("Checkpoint", Output.readable(subscription["checkpoint"]))]
    }
}
