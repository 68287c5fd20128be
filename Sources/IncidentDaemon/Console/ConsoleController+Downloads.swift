import Foundation
import Hummingbird
import IncidentRendering
import IncidentStore
import PostgresLibpq

// `/incidents.csv` and `/incidents.hxl`: the filtered list as a spreadsheet, the same columns and
// cells as `ictl list --format csv|hxl` (IncidentTable), every page of it.
extension ConsoleController {
    /// The most rows one download holds; a larger list is cut there and says so in its file name.
    static let maximumDownloadRows = 50_000

    @Sendable func downloadCSV(_ request: Request, context: APIContext) async throws -> Response {
        try await download(request, context, hxl: false)
    }

    @Sendable func downloadHXL(_ request: Request, context: APIContext) async throws -> Response {
        try await download(request, context, hxl: true)
    }

    private func download(_ request: Request, _ context: APIContext, hxl: Bool) async throws -> Response {
        let principal = try context.requirePrincipal()
        let slot = try deps.downloads.acquire(refusing: "\(deps.downloads.limit) downloads are running; try again shortly", retryAfter: 10)
        defer { slot.release() }
        let states = try await everyIncident(try IncidentController.filter(Self.nonEmpty(ConsoleForm.query(request))), for: principal, upTo: Self.maximumDownloadRows)
        var lines = [CSV.line(IncidentTable.columns)]
        if hxl { lines.append(CSV.line(IncidentTable.hxl)) }
        lines += states.map { CSV.line(Self.tableRow($0).cells) }
        let rows = states.count
        let name = "incidents" + (rows == Self.maximumDownloadRows ? "-first-\(rows)" : "") + (hxl ? ".hxl.csv" : ".csv")
        return Response(
            status: .ok,
            headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"\(name)\""],
            body: .init(byteBuffer: .init(string: lines.joined(separator: "\r\n") + "\r\n")))
    }

    static func tableRow(_ state: IncidentState) -> IncidentTable.Row {
        let record = state.record
        return IncidentTable.Row(
            id: record.incidentID.lowercasedText, occurredAt: record.occurredAt, municipality: record.municipality, category: record.category,
            subcategory: record.subcategory, status: state.status.rawValue, version: state.version, killed: record.killed, injured: record.injured,
            summary: record.summary)
    }
}
