import Foundation

/// One incident laid out for a person (`ictl show` on a terminal): a header line (category and
/// sub-category, status, version), then what, where, when, who and how many, the source, the
/// sensitivity and the tags, in that order; the personal data when it was asked for.
struct IncidentCard {
    /// The API's answer to `GET /v1/incidents/{id}`.
    let shown: [String: Any]
    let names: ReferenceNames
    let terminal: Terminal

    private var incident: [String: Any] { shown["incident"] as? [String: Any] ?? [:] }

    private func value(_ key: String) -> String { Output.readable(incident[key]) }

    func lines() -> [String] {
        let sensitivity = Output.string(incident["sensitivity"])
        let sections: [(String, [String])] = [
            ("What", Output.wrap(Output.readable(incident["summary"]), width: terminal.width, indent: "  ")),
            ("Where", place()),
            ("When", time()),
            ("Who and how many", people()),
            ("Source", source()),
            ("Sensitivity", ["  " + terminal.paint(sensitivity, .sensitivity(sensitivity))]),
            ("Tags", ["  " + value("tags")]),
        ]
        var lines = header()
        for (title, body) in sections + personal() { lines += [""] + [terminal.paint(title, .bold)] + body }
        return lines
    }

    /// The category, status and version on one line, and the id; on a terminal too narrow for
    /// that line, status and version go before the id.
    private func header() -> [String] {
        let status = Output.string(shown["status"])
        let category = names.category(Output.string(incident["category"]), Output.string(incident["subcategory"]))
        let state = terminal.paint(status, .status(status)) + "  version " + Output.readable(shown["version"])
        let id = terminal.paint(Output.string(incident["incident_id"]), .dim)
        let plainLength = category.count + 2 + status.count + 10 + Output.readable(shown["version"]).count
        guard plainLength > terminal.width ?? Int.max else { return [terminal.paint(category, .bold) + "  " + state, id] }
        return [terminal.paint(category, .bold), state + "  " + id]
    }

    private func field(_ label: String, _ text: String) -> String { Output.field(label, text, width: terminal.width) }

    private func place() -> [String] {
        let municipality = Output.string(incident["municipality"])
        var lines = [field("Municipality", names.region(municipality))]
        if let district = names.districtOfMunicipality[municipality] { lines.append(field("District", names.region(district))) }
        lines.append(field("Place", value("place")))
        let precision = ["1": "the town", "2": "near a place", "3": "the region only"][Output.string(incident["geo_precision"])]
        let coordinates = incident["lat"] == nil ? "—" : "\(value("lat")) N, \(value("lon")) E" + (precision.map { " (\($0))" } ?? "")
        return lines + [field("Coordinates", coordinates)]
    }

    private func time() -> [String] {
        let precision = ["day": " (to the day)", "week": " (within that week)", "month": " (within that month)"][Output.string(incident["date_precision"])] ?? ""
        var lines = [field("Occurred", IncidentTimeline.moment(Output.string(incident["occurred_at"])) + precision)]
        if shown["reported_at"] != nil {
            let by = shown["reported_by"].map { " by " + Output.readable($0) } ?? ""
            lines.append(field("Reported", IncidentTimeline.moment(Output.string(shown["reported_at"])) + by))
        }
        if shown["updated_at"] != nil { lines.append(field("Updated", IncidentTimeline.moment(Output.string(shown["updated_at"])))) }
        return lines
    }

    private func people() -> [String] {
        let range = incident["killed_low"] != nil || incident["killed_high"] != nil ? " (\(value("killed_low"))–\(value("killed_high")))" : ""
        let casualties = "killed \(value("killed"))\(range), injured \(value("injured")), abducted \(value("abducted")), displaced \(value("displaced"))"
        return [
            field("Casualties", casualties), field("Communities", value("affected_communities")), field("Perpetrator", value("perpetrator")),
            field("Target", value("target")),
        ]
    }

    private func source() -> [String] {
        let reliability = [
            "A": "completely reliable", "B": "usually reliable", "C": "fairly reliable", "D": "not usually reliable", "E": "unreliable",
            "F": "cannot be judged",
        ]
        let credibility = [
            "1": "confirmed", "2": "probably true", "3": "possibly true", "4": "doubtfully true", "5": "improbable", "6": "cannot be judged",
        ]
        let r = Output.string(incident["source_reliability"]), c = Output.string(incident["info_credibility"])
        return [
            field("Type", value("source_type")),
            field("Reliability", reliability[r].map { "\(r), \($0)" } ?? "—"),
            field("Credibility", credibility[c].map { "\(c), \($0)" } ?? "—"),
        ]
    }

    /// The personal data section, only when the answer carries it (admins, `--include-personal`).
    private func personal() -> [(String, [String])] {
        guard let object = shown.keys.contains("personal") ? shown["personal"] : incident["personal"] else { return [] }
        let erased = Output.readable(shown["personal_data_erased"] ?? incident["personal_data_erased"]) == "yes" ? ["  (erased)"] : []
        let text = object is NSNull ? ["  —"] : JSONLayout.text(object).split(separator: "\n").map { "  " + $0 }
        return [("Personal data", text + erased)]
    }
}
