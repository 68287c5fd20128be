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

/// The incident table for a person: the columns of ``incidentRow(_:)`` with each municipality's
/// name beside its code, the version only with `--wide`. On a narrow terminal the category gives
/// way to its sub-category, the municipality to its code and the summary is truncated; then the
/// casualties, the category and the municipality are left out in that order.
func incidentTable(_ items: [[String: Any]], names: ReferenceNames) -> Table {
    let municipality = incidentColumns.firstIndex(of: "MUNICIPALITY") ?? 2
    let rows = items.map { item in
        var row = incidentRow(item)
        if let name = names.regions[row[municipality]] { row[municipality] += " " + name }
        return row
    }
    let firstWord = { (cell: String) in String(cell.prefix { $0 != " " }) }
    let afterSlash = { (cell: String) in String(cell.split(separator: "/").last ?? "") }
    return Table(
        titles: incidentColumns, rows: rows, flexible: [("CATEGORY", 23), ("MUNICIPALITY", 12), ("SUMMARY", 40)],
        dropping: ["INJURED", "KILLED", "CATEGORY", "MUNICIPALITY"], wideOnly: ["VERSION"],
        shortForms: ["MUNICIPALITY": firstWord, "CATEGORY": afterSlash], styles: ["STATUS": Terminal.Style.status])
}
