import ArgumentParser
import Foundation

func incidentRow(_ item: [String: Any]) -> [String] {
    let incident = item["incident"] as? [String: Any] ?? [:]
    return [
        Output.string(incident["incident_id"]), Output.string(incident["occurred_at"]), Output.string(incident["municipality"]),
        Output.string(incident["category"]) + "/" + Output.string(incident["subcategory"]), Output.string(item["status"]),
        Output.string(item["version"]), Output.string(incident["killed"]), Output.string(incident["injured"]),
        Output.string(incident["summary"]).replacingOccurrences(of: "\n", with: " "),
    ]
}

let incidentColumns = ["ID", "OCCURRED", "MUNICIPALITY", "CATEGORY", "STATUS", "VERSION", "KILLED", "INJURED", "SUMMARY"]
let incidentHXL = ["#event+id", "#date+occurred", "#adm2+code", "#event+type", "#status", "#meta+version", "#affected+killed", "#affected+injured", "#description"]
