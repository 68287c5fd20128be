import Foundation
import Hummingbird
import IncidentRendering
import IncidentStore

// `/digests`: a week picker, the week's figures and trend, and the digest in every format, each
// rendered by the code `ictl digest` uses (IncidentRendering) from what `GET /v1/digests/weekly`
// answers the same user.
extension ConsoleController {
    /// The weeks the picker offers, newest first.
    static let pickerWeeks = 26

    @Sendable func digests(_ request: Request, context: APIContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let query = ConsoleForm.query(request)
        let digest: DigestDocument
        do {
            digest = try await document(week: query.text("week"), for: principal)
        } catch ServiceError.invalid(let failure) {
            return ConsolePage.render(
                "digests", ["title": "Weekly digest", "message": failure.description, "weeks": Self.weekChoices(selected: nil)], session: ConsoleSession(context),
                status: .unprocessableContent)
        }
        let figures: [[String: Any]] = zip(
            ["Incidents", "Verified", "Killed", "Injured", "Abducted", "Displaced"], zip(digest.totals.ordered, digest.changes.vsPreviousWeek.ordered)
        ).map { label, pair in
            ["label": label, "value": Int(pair.0), "change": pair.1 == 0 ? "no change" : String(format: "%+.0f vs the week before", pair.1)]
        }
        let values: [String: Any] = [
            "title": "Weekly digest \(digest.week)", "week": digest.week, "from": digest.from, "to": digest.to, "sensitivity": digest.sensitivity,
            "weeks": Self.weekChoices(selected: digest.week), "figures": figures, "trend": TrendChart.svg(points: digest.trend, highlighting: digest.week),
            "formats": [("html", "HTML with charts"), ("md", "Markdown"), ("csv", "CSV with HXL tags"), ("json", "JSON")].map { ["ext": $0.0, "label": $0.1] },
        ]
        return ConsolePage.render("digests", values, session: ConsoleSession(context))
    }

    /// `/digests/{week}.{format}`: the digest as a file, as `ictl digest --format` writes it.
    @Sendable func digestFile(_ request: Request, context: APIContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let name = context.parameters.get("file") ?? ""
        let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2, let week = IsoWeek(parts[0]) else { throw APIError(.notFound, code: "not_found", message: "no such digest file") }
        let (body, type): (String, String)
        if parts[1] == "json" {
            body = String(decoding: try JSONEncoder().encode(try await deps.service.weeklyDigest(week: week.description, for: principal)), as: UTF8.self)
            type = "application/json"
        } else {
            let renderings: [String: (render: (DigestDocument) -> String, type: String)] = [
                "html": (DigestRendering.html, "text/html; charset=utf-8"), "md": (DigestRendering.markdown, "text/markdown; charset=utf-8"),
                "csv": (DigestRendering.csv, "text/csv; charset=utf-8"),
            ]
            guard let rendering = renderings[parts[1]] else { throw APIError(.notFound, code: "not_found", message: "no such digest file") }
            (body, type) = (rendering.render(try await document(week: week.description, for: principal)), rendering.type)
        }
        // A file to keep, not a page of the console: the HTML digest carries its own style inline.
        return Response(
            status: .ok, headers: [.contentType: type, .contentDisposition: "attachment; filename=\"digest-\(week.description).\(parts[1])\""],
            body: .init(byteBuffer: .init(string: body)))
    }

    /// The digest as the renderers read it: the API's JSON of it, decoded.
    func document(week: String?, for principal: Principal) async throws -> DigestDocument {
        let digest = try await deps.service.weeklyDigest(week: week, for: principal)
        return try JSONDecoder().decode(DigestDocument.self, from: try JSONEncoder().encode(digest))
    }

    static func weekChoices(selected: String?, now: Date = Date()) -> [[String: Any]] {
        let last = IsoWeek.last(before: now)
        return (0..<pickerWeeks).map { offset in
            let week = last.advanced(by: -offset)
            return ["code": week.description, "label": "\(week.description) (\(week.from) to \(week.to))", "selected": week.description == selected]
        }
    }
}
