import Foundation

/// Which events a subscription delivers: each member given narrows it, none given is every
/// event. Evaluated against the incident as it stood just after the event (an amendment that
/// moves an incident into the filter's municipality matches; the report before it did not).
///
/// Regions are stored as codes: a municipality or district given by name is resolved when the
/// subscription is made, as the incident list resolves it.
public struct SubscriptionFilter: Sendable, Equatable {
    public var categories: [String] = []
    public var subcategories: [String] = []
    public var municipalities: [String] = []
    public var districts: [String] = []
    /// Log event types (`IncidentReported`, `IncidentAmended`, ...); empty: all.
    public var eventTypes: [String] = []
    public var minKilled: Int?
    /// Killed and injured together.
    public var minCasualties: Int?
    public var statuses: [IncidentStatus] = []

    public init() {}

    /// What is wrong with one value of a member.
    struct Problem: Error {
        var text: String
        init(_ text: String) { self.text = text }
    }

    static let members: Set<String> = [
        "categories", "subcategories", "municipalities", "districts", "event_types", "min_killed", "min_casualties", "statuses",
    ]

    /// Reads a filter as the API takes it, resolving names to codes.
    /// - Throws: ``ValidationFailure`` naming each member that is wrong (`filter.<member>`).
    public static func parse(_ value: JSONValue?, reference: ReferenceData) throws(ValidationFailure) -> SubscriptionFilter {
        var filter = SubscriptionFilter()
        guard let value, value != .null else { return filter }
        guard let object = value.objectValue else { throw ValidationFailure([FieldError("filter", "must be an object")]) }
        var errors = object.keys.filter { !members.contains($0) }.sorted().map { FieldError.unknown("filter.\($0)") }
        func strings(_ key: String) -> [String] {
            guard let member = object[key], member != .null else { return [] }
            guard let array = member.arrayValue, let texts = Optional(array.compactMap(\.stringValue)), texts.count == array.count else {
                errors.append(FieldError("filter.\(key)", "must be an array of strings"))
                return []
            }
            return texts
        }
        func count(_ key: String) -> Int? {
            guard let member = object[key], member != .null else { return nil }
            guard let number = member.numberValue, number == number.rounded(), (0...1_000_000).contains(number) else {
                errors.append(FieldError("filter.\(key)", "must be a whole number from 0"))
                return nil
            }
            return Int(number)
        }
        /// Each string of `key` as `resolve` makes it a code, or says what is wrong with it.
        func codes(_ key: String, _ resolve: (String) -> Result<String, Problem>) -> [String] {
            strings(key).compactMap { text in
                switch resolve(text) {
                case .success(let code): return code
                case .failure(let problem):
                    errors.append(FieldError("filter.\(key)", problem.text))
                    return nil
                }
            }
        }
        let taxonomy = reference.taxonomy, regions = reference.regions
        filter.categories = codes("categories") { taxonomy.category($0) == nil ? .failure(Problem("unknown category '\($0)'")) : .success($0) }
        filter.subcategories = codes("subcategories") {
            taxonomy.categoryOwning(subcategory: $0) == nil ? .failure(Problem("unknown sub-category '\($0)'")) : .success($0)
        }
        filter.municipalities = codes("municipalities") { Self.code(regions.resolveMunicipality($0), $0, "municipality", \.code) }
        filter.districts = codes("districts") { Self.code(regions.resolveDistrict($0), $0, "district", \.code) }
        let types = IncidentEvent.EventType.allCases.map(\.rawValue)
        filter.eventTypes = codes("event_types") {
            types.contains($0) ? .success($0) : .failure(Problem("unknown event type '\($0)'; one of \(types.sorted().joined(separator: ", "))"))
        }
        let statuses = IncidentStatus.allCases.map(\.rawValue)
        filter.statuses = codes("statuses") {
            statuses.contains($0) ? .success($0) : .failure(Problem("unknown status '\($0)'; one of \(statuses.joined(separator: ", "))"))
        }.compactMap(IncidentStatus.init(rawValue:))
        filter.minKilled = count("min_killed")
        filter.minCasualties = count("min_casualties")
        if !errors.isEmpty { throw ValidationFailure(errors) }
        return filter
    }

    /// The code a name or code resolved to, or why there is none.
    private static func code<Region>(_ match: RegionMatch<Region>, _ name: String, _ kind: String, _ code: (Region) -> String) -> Result<String, Problem> {
        switch match {
        case .found(let region): .success(code(region))
        case .ambiguous(let candidates): .failure(Problem("'\(name)' is ambiguous; one of \(candidates.map(code).joined(separator: ", "))"))
        case .unknown: .failure(Problem("unknown \(kind) '\(name)'"))
        }
    }

    /// The stored and answered form: every member, codes for regions.
    public var json: JSONValue {
        func list(_ values: [String]) -> JSONValue { .array(values.map(JSONValue.string)) }
        return [
            "categories": list(categories), "subcategories": list(subcategories), "municipalities": list(municipalities),
            "districts": list(districts), "event_types": list(eventTypes), "statuses": list(statuses.map(\.rawValue)),
            "min_killed": minKilled.map { .number(Double($0)) } ?? .null, "min_casualties": minCasualties.map { .number(Double($0)) } ?? .null,
        ]
    }

    /// Reads the stored form back (codes already resolved).
    init(stored value: JSONValue) {
        let object = value.objectValue ?? [:]
        func list(_ key: String) -> [String] { object[key]?.arrayValue?.compactMap(\.stringValue) ?? [] }
        categories = list("categories")
        subcategories = list("subcategories")
        municipalities = list("municipalities")
        districts = list("districts")
        eventTypes = list("event_types")
        statuses = list("statuses").compactMap(IncidentStatus.init(rawValue:))
        minKilled = object["min_killed"]?.numberValue.map { Int($0) }
        minCasualties = object["min_casualties"]?.numberValue.map { Int($0) }
    }

    /// Whether an event of `type` that left its incident in `state` is delivered.
    public func matches(type: String, state: IncidentState, regions: RegionDirectory) -> Bool {
        let record = state.record
        if !eventTypes.isEmpty && !eventTypes.contains(type) { return false }
        if !categories.isEmpty && !categories.contains(record.category) { return false }
        if !subcategories.isEmpty && !subcategories.contains(record.subcategory) { return false }
        if !municipalities.isEmpty && !municipalities.contains(record.municipality) { return false }
        if !districts.isEmpty && !districts.contains(regions.municipality(code: record.municipality)?.districtCode ?? "") { return false }
        if !statuses.isEmpty && !statuses.contains(state.status) { return false }
        if let minKilled, record.killed < minKilled { return false }
        if let minCasualties, record.killed + record.injured < minCasualties { return false }
        return true
    }
}
