import Foundation
import IncidentRendering

/// An incident of the API's JSON as a row of the incident table (the console's downloads use
/// the same ``IncidentTable``).
func incidentRow(_ item: [String: Any]) -> [String] {
    let incident = item["incident"] as? [String: Any] ?? [:]
    return IncidentTable.Row(
        id: Output.string(incident["incident_id"]), occurredAt: Output.string(incident["occurred_at"]), municipality: Output.string(incident["municipality"]),
        category: Output.string(incident["category"]), subcategory: Output.string(incident["subcategory"]), status: Output.string(item["status"]),
        version: item["version"] as? Int, killed: incident["killed"] as? Int, injured: incident["injured"] as? Int,
        summary: Output.string(incident["summary"])
    ).cells
}

let incidentColumns = IncidentTable.columns
let incidentHXL = IncidentTable.hxl
