import Foundation
import Hummingbird
import HummingbirdCore
import IncidentStore
import PostgresLibpq

// `/incidents`, `/incidents/{id}` with its review forms, and `/review`.
extension ConsoleController {
    @Sendable func incidents(_ request: Request, context: APIContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        let query = ConsoleForm.query(request)
        let reference = deps.service.reference
        var values: [String: Any] = [
            "title": "Incidents", "filter": query.values,
            "municipalities": Self.options(reference.regions.municipalities.map { ($0.code, $0.displayName) }, selected: query.text("municipality")),
            "districts": Self.options(reference.regions.districts.map { ($0.code, $0.displayName) }, selected: query.text("district")),
            "categories": Self.options(reference.taxonomy.categories.map { ($0.code, $0.label) }, selected: query.text("category")),
            "statuses": Self.options(IncidentStatus.allCases.map { ($0.rawValue, $0.rawValue) }, selected: query.text("status")),
        ]
        let page: IncidentPage
        do {
            page = try await deps.service.list(try IncidentController.filter(Self.nonEmpty(query)), for: principal)
        } catch ServiceError.invalid(let failure) {
            values["message"] = failure.description
            return ConsolePage.render("incidents", values, session: ConsoleSession(context), status: .unprocessableContent)
        } catch let error as APIError where error.status == .badRequest {
            values["message"] = error.message
            return ConsolePage.render("incidents", values, session: ConsoleSession(context), status: .badRequest)
        }
        values["items"] = page.items.map { Self.row($0.state, reference: reference) }
        values["query"] = Self.encoded(query.values.filter { !$0.value.isEmpty && $0.key != "cursor" })
        values["count"] = page.items.count
        if let cursor = page.nextCursor {
            var next = query.values.filter { !$0.value.isEmpty && $0.key != "cursor" }
            next["cursor"] = cursor
            values["next"] = "/incidents?" + Self.encoded(next)
        }
        return ConsolePage.render("incidents", values, session: ConsoleSession(context))
    }

    @Sendable func incident(_ request: Request, context: APIContext) async throws -> Response {
        try await incidentPage(try incidentID(context), context: context, message: nil, status: .ok)
    }

    func incidentPage(_ id: UUID, context: APIContext, message: String?, status: HTTPResponse.Status) async throws -> Response {
        let principal = try context.requirePrincipal()
        let view = try await deps.service.incident(id, history: true, for: principal)
        let session = ConsoleSession(context)
        let state = view.state, record = state.record
        let regions = deps.service.reference.regions
        let fields: [(String, String?)] = [
            ("Status", state.status.rawValue), ("Version", String(state.version)), ("Occurred", record.occurredAt),
            ("Municipality", regions.municipality(code: record.municipality)?.displayName ?? record.municipality), ("Place", record.place),
            ("Category", Self.categoryText(record, deps.service.reference.taxonomy)), ("Killed", String(record.killed)), ("Injured", String(record.injured)),
            ("Abducted", String(record.abducted)), ("Displaced", String(record.displaced)), ("Perpetrator", record.perpetrator), ("Target", record.target),
            ("Source", record.sourceType.rawValue), ("Sensitivity", record.sensitivity.rawValue),
            ("Reported by", Disclosure.seesWhoActed(principal) ? state.reportedBy : nil),
        ]
        let history: [[String: Any]] = (view.events ?? []).map { event in
            // Mustache would print a missing detail as "nil": absent keys are left out instead.
            let entry: [String: Any?] = [
                "at": IncidentTime.formatTimestamp(event.recordedAt), "type": event.type,
                "by": Disclosure.seesWhoActed(principal) ? event.metadata.principal : nil,
                "detail": Self.detail(of: event),
            ]
            return entry.compactMapValues { $0 }
        }
        var values: [String: Any] = [
            // The title stays in the browser's history, which outlives no-store: no free text in it.
            "title": "Incident \(id.lowercasedText.prefix(8))", "summary": record.summary, "id": id.lowercasedText, "version": state.version,
            "fields": fields.compactMap { label, value in value.map { ["label": label, "value": $0] } }, "history": history,
            "canReview": (session?.canReview ?? false) && state.status != .retracted, "retractionReasons": RetractionReason.allCases.map(\.rawValue),
            "amendable": Self.amendable(record).map { ["name": $0.name, "label": $0.label, "value": $0.value] },
        ]
        if let message { values["message"] = message }
        return ConsolePage.render("incident", values, session: session, status: status)
    }

    @Sendable func review(_ request: Request, context: APIContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        guard ConsoleSession(context)?.canReview == true else { throw APIError(.forbidden, code: "forbidden", message: "The review queue is for reviewers and admins.") }
        var filter = IncidentFilter()
        filter.status = IncidentStatus.reported.rawValue
        // Every page: the list runs newest first, and the queue must not lose its oldest.
        let items = try await everyIncident(filter, for: principal, upTo: Self.maximumQueue).sorted {
            ($0.record.occurredDay, $0.reportedAt) < ($1.record.occurredDay, $1.reportedAt)
        }.map { state in
            Self.row(state, reference: deps.service.reference).merging(["reported": IncidentTime.formatTimestamp(state.reportedAt)]) { $1 }
        }
        return ConsolePage.render("review", ["title": "Review queue", "items": items, "count": items.count], session: ConsoleSession(context))
    }

    /// The most incidents the review queue reads.
    static let maximumQueue = 10_000

    /// The incidents of every page of a list, in its order, at most `maximum` of them.
    func everyIncident(_ filter: IncidentFilter, for principal: Principal, upTo maximum: Int) async throws -> [IncidentState] {
        var filter = filter
        (filter.limit, filter.cursor) = (IncidentService.maximumPageSize, nil)
        var states: [IncidentState] = []
        repeat {
            let page = try await deps.service.list(filter, for: principal)
            states += page.items.prefix(maximum - states.count).map(\.state)
            filter.cursor = page.nextCursor
        } while filter.cursor != nil && states.count < maximum
        return states
    }

    /// One incident as a row of a list.
    static func row(_ state: IncidentState, reference: ReferenceData) -> [String: Any] {
        let record = state.record, regions = reference.regions
        return [
            "id": record.incidentID.lowercasedText, "day": record.occurredDay,
            "municipality": regions.municipality(code: record.municipality)?.displayName ?? record.municipality,
            "category": reference.taxonomy.category(record.category)?.label ?? record.category, "status": state.status.rawValue, "summary": record.summary,
            "killed": record.killed, "injured": record.injured,
        ]
    }

    /// "Inter-ethnic violence / Assault": the taxonomy's labels, the codes when one is unknown.
    static func categoryText(_ record: IncidentRecord, _ taxonomy: Taxonomy) -> String {
        let category = taxonomy.category(record.category)
        let subcategory = taxonomy.subcategory(record.subcategory, of: record.category)
        return "\(category?.label ?? record.category) / \(subcategory?.label ?? record.subcategory)"
    }

    /// What an event of the history says beyond its type: the note, reason or changed fields.
    static func detail(of event: RecordedEvent) -> String? {
        guard case .object(let data) = event.data else { return nil }
        if let note = data["note"]?.stringValue { return note }
        if let reason = data["reason"]?.stringValue {
            if case .object(let changes)? = data["changes"] { return "\(changes.keys.sorted().joined(separator: ", ")) (\(reason))" }
            return reason
        }
        return nil
    }

    /// The filled-in fields of a form as the API's query.
    static func nonEmpty(_ form: ConsoleForm) -> FlatDictionary<Substring, Substring> {
        FlatDictionary(form.values.filter { !$0.value.isEmpty }.sorted { $0.key < $1.key }.map { (key: Substring($0.key), value: Substring($0.value)) })
    }

    static func encoded(_ values: [String: String]) -> String {
        values.sorted { $0.key < $1.key }.map { key, value in "\(key)=\(value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(
            separator: "&")
    }
}
