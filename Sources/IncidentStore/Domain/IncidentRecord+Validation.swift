import Foundation
import PostgresLibpq

/// One thing wrong with one field of a request.
public struct FieldError: Sendable, Equatable, Codable, CustomStringConvertible {
    public var field: String
    public var message: String
    /// The field is not part of what was sent to (a typo must not silently drop data): a kind of
    /// its own, which the API answers differently from a broken rule.
    public private(set) var isUnknownField = false

    public init(_ field: String, _ message: String) {
        self.field = field
        self.message = message
    }

    /// A field that has no place in the request.
    public static func unknown(_ field: String) -> FieldError {
        var error = FieldError(field, "unknown field")
        error.isUnknownField = true
        return error
    }

    private enum CodingKeys: String, CodingKey { case field, message }

    public var description: String { "\(field): \(message)" }
}

/// A request that failed validation; `errors` names every offending field, not the first only.
public struct ValidationFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public var errors: [FieldError]

    public init(_ errors: [FieldError]) { self.errors = errors }

    public var fields: [String] { errors.map(\.field) }
    public var description: String { errors.map(\.description).joined(separator: "; ") }
}

/// What validation needs to know: the seeded taxonomy and regions, and the time now.
public struct ValidationContext: Sendable {
    public var taxonomy: Taxonomy
    public var regions: RegionDirectory
    public var now: Date

    public init(taxonomy: Taxonomy, regions: RegionDirectory, now: Date = Date()) {
        self.taxonomy = taxonomy
        self.regions = regions
        self.now = now
    }
}

/// A validated report: the canonical record, and the personal data still in plain text, to be
/// sealed before anything is stored.
public struct ValidatedReport: Sendable {
    public var record: IncidentRecord
    /// The idempotency key the client chose, if it chose one.
    public var eventID: UUID?
    /// True when the client named the incident id (so a retry maps to the same incident).
    public var incidentIDGiven: Bool
    public var personal: JSONValue?
}

/// A validated amendment.
public struct ValidatedAmendment: Sendable {
    public enum PersonalChange: Sendable, Equatable {
        case replace(JSONValue)
        case remove
    }

    public var record: IncidentRecord
    /// The changed fields in canonical form (what the `IncidentAmended` event carries).
    public var changes: [String: JSONValue]
    public var personal: PersonalChange?
}

extension IncidentRecord {
    /// A limit of our own on the counts (docs/data-model.md, The incident record): counts above this
    /// are typos, not events.
    public static let maximumCount = 1_000_000
    /// The largest `personal` object accepted, as JSON text.
    public static let maximumPersonalBytes = 64 * 1024
    /// How far in the future `occurred_at` may be (clock skew of a field laptop).
    public static let futureTolerance: TimeInterval = 10 * 60

    /// The fields a report may carry.
    public static let reportFields: Set<String> = Set(CodingKeys.allCases.map(\.rawValue)).union(["event_id"])

    /// Validates a report body (docs/data-model.md, The incident record).
    ///
    /// - Parameters:
    ///   - body: the parsed JSON request.
    ///   - context: taxonomy, regions and the current time.
    ///   - defaultIncidentID: the id to use when the body names none.
    /// - Throws: ``ValidationFailure`` naming every offending field.
    public static func validateReport(
        _ body: JSONValue, context: ValidationContext, defaultIncidentID: UUID
    ) throws(ValidationFailure) -> ValidatedReport {
        guard case .object(let object) = body else {
            throw ValidationFailure([FieldError("body", "must be a JSON object, not \(body.typeName)")])
        }
        var reader = FieldReader(object: object)
        reader.rejectUnknown(allowed: reportFields)
        let incidentID = reader.uuid("incident_id")
        let eventID = reader.uuid("event_id")
        let record = reader.record(incidentID: incidentID ?? defaultIncidentID, context: context)
        let personal = reader.personal()
        guard reader.errors.isEmpty, let record else { throw ValidationFailure(reader.errors) }
        return ValidatedReport(record: record, eventID: eventID, incidentIDGiven: incidentID != nil, personal: personal)
    }

    /// Applies `changes` to this record and validates the result as a whole.
    ///
    /// A change to `null` clears an optional field (a required one is then reported missing).
    /// - Throws: ``ValidationFailure`` naming every offending field.
    public func amended(with changes: JSONValue, context: ValidationContext) throws(ValidationFailure) -> ValidatedAmendment {
        guard case .object(let changeObject) = changes else {
            throw ValidationFailure([FieldError("changes", "must be a JSON object, not \(changes.typeName)")])
        }
        var errors: [FieldError] = []
        for key in changeObject.keys.sorted() {
            if key == "incident_id" || key == "event_id" {
                errors.append(FieldError(key, "cannot be amended"))
            } else if !Self.reportFields.contains(key) {
                errors.append(.unknown(key))
            }
        }
        if changeObject.isEmpty { errors.append(FieldError("changes", "names no field to change")) }
        guard errors.isEmpty else { throw ValidationFailure(errors) }

        // Merge over the canonical current record; personal data is handled on its own.
        var merged = ((try? JSONValue(encoding: self))?.objectValue) ?? [:]
        merged["personal"] = nil
        for (key, value) in changeObject where key != "personal" {
            merged[key] = value == .null ? nil : value
        }
        var reader = FieldReader(object: merged)
        let record = reader.record(incidentID: incidentID, context: context)
        var personalChange: ValidatedAmendment.PersonalChange?
        if let personal = changeObject["personal"] {
            if personal == .null {
                personalChange = .remove
            } else {
                var personalReader = FieldReader(object: ["personal": personal])
                if let value = personalReader.personal() { personalChange = .replace(value) }
                reader.errors += personalReader.errors
            }
        }
        guard reader.errors.isEmpty, var record else { throw ValidationFailure(reader.errors) }
        record.personal = personalChange == nil ? self.personal : nil

        let before = (try? JSONValue(encoding: self))?.objectValue ?? [:]
        let after = (try? JSONValue(encoding: record))?.objectValue ?? [:]
        var changed: [String: JSONValue] = [:]
        for key in CodingKeys.allCases.map(\.rawValue) where key != "personal" && before[key] != after[key] {
            changed[key] = after[key] ?? .null
        }
        if changed.isEmpty && personalChange == nil {
            throw ValidationFailure([FieldError("changes", "change nothing: every value equals the current one")])
        }
        return ValidatedAmendment(record: record, changes: changed, personal: personalChange)
    }
}

/// Reads fields of a JSON object, collecting every error instead of stopping at the first.
struct FieldReader {
    let object: [String: JSONValue]
    var errors: [FieldError] = []

    mutating func fail(_ field: String, _ message: String) {
        errors.append(FieldError(field, message))
    }

    /// The value, with JSON null treated as absent.
    func value(_ key: String) -> JSONValue? {
        guard let value = object[key], value != .null else { return nil }
        return value
    }

    mutating func rejectUnknown(allowed: Set<String>) {
        for key in object.keys.sorted() where !allowed.contains(key) {
            errors.append(.unknown(key))
        }
    }

    mutating func uuid(_ key: String) -> UUID? {
        guard let value = value(key) else { return nil }
        guard case .string(let text) = value, let uuid = UUID(uuidString: text) else {
            fail(key, "must be a UUID such as 3f0c1d2e-8a4b-4c5d-9e6f-7a8b9c0d1e2f")
            return nil
        }
        return uuid
    }

    /// Trimmed text; nil when absent or empty (and then an error if required).
    mutating func text(_ key: String, required: Bool = false, maxLength: Int, multiline: Bool = false) -> String? {
        guard let value = value(key) else {
            if required { fail(key, "is required") }
            return nil
        }
        guard case .string(let raw) = value else {
            fail(key, "must be a string, not \(value.typeName)")
            return nil
        }
        return checkedText(raw, field: key, required: required, maxLength: maxLength, multiline: multiline)
    }

    mutating func checkedText(_ raw: String, field: String, required: Bool, maxLength: Int, multiline: Bool) -> String? {
        let text = Self.trimmed(raw.utf8.contains(13) ? raw.replacingOccurrences(of: "\r\n", with: "\n") : raw)
        if text.isEmpty {
            if required { fail(field, "must not be empty") }
            return nil
        }
        if text.count > maxLength {
            fail(field, "must be at most \(maxLength) characters (has \(text.count))")
        }
        // General category Cc is exactly U+0000–U+001F and U+007F–U+009F.
        if let bad = text.unicodeScalars.first(where: { ($0.value < 0x20 || (0x7F...0x9F).contains($0.value)) && !(multiline && $0 == "\n") }) {
            let code = String(format: "U+%04X", bad.value)
            fail(field, multiline ? "must not contain control characters other than newline (found \(code))" : "must not contain control characters (found \(code))")
        }
        return text
    }

    /// `text` without leading and trailing white space (Unicode White_Space, the set Foundation's
    /// `.whitespacesAndNewlines` names), copied only when there is some.
    static func trimmed(_ text: String) -> String {
        let scalars = text.unicodeScalars
        guard let first = scalars.firstIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        let last = scalars.lastIndex(where: { !$0.properties.isWhitespace })!
        if first == scalars.startIndex && scalars.index(after: last) == scalars.endIndex { return text }
        return String(scalars[first...last])
    }

    mutating func integer(_ key: String, in range: ClosedRange<Int>) -> Int? {
        guard let value = value(key) else { return nil }
        guard case .number(let number) = value, number == number.rounded(), abs(number) <= 1e15 else {
            fail(key, "must be a whole number from \(range.lowerBound) to \(range.upperBound)")
            return nil
        }
        let int = Int(number)
        guard range.contains(int) else {
            fail(key, "must be a whole number from \(range.lowerBound) to \(range.upperBound) (got \(int))")
            return nil
        }
        return int
    }

    mutating func number(_ key: String) -> Double? {
        guard let value = value(key) else { return nil }
        guard case .number(let number) = value, number.isFinite else {
            fail(key, "must be a number, not \(value.typeName)")
            return nil
        }
        return number
    }

    mutating func choice<E: RawRepresentable & CaseIterable>(_ key: String, _ type: E.Type, required: Bool = false) -> E?
    where E.RawValue == String {
        guard let value = value(key) else {
            if required { fail(key, "is required") }
            return nil
        }
        guard case .string(let text) = value, let choice = E(rawValue: text) else {
            fail(key, "must be one of \(E.allCases.map(\.rawValue).joined(separator: ", "))")
            return nil
        }
        return choice
    }

    mutating func array(_ key: String, maxCount: Int) -> [JSONValue]? {
        guard let value = value(key) else { return nil }
        guard case .array(let items) = value else {
            fail(key, "must be a list, not \(value.typeName)")
            return nil
        }
        if items.count > maxCount {
            fail(key, "must have at most \(maxCount) items (has \(items.count))")
            return nil
        }
        return items
    }

    mutating func personal() -> JSONValue? {
        guard let value = value("personal") else { return nil }
        guard case .object(let object) = value else {
            fail("personal", "must be an object (names, ages, contacts, notes), not \(value.typeName)")
            return nil
        }
        if object.isEmpty { return nil }
        if value.encoded().count > IncidentRecord.maximumPersonalBytes {
            fail("personal", "must be at most \(IncidentRecord.maximumPersonalBytes / 1024) KiB")
            return nil
        }
        return value
    }

    /// Every field of the record, validated; nil when any is wrong (the errors say which).
    mutating func record(incidentID: UUID, context: ValidationContext) -> IncidentRecord? {
        let errorCount = errors.count
        let (category, subcategory) = taxonomy(context.taxonomy)
        let occurredAt = occurredAt(now: context.now)
        let datePrecision = choice("date_precision", DatePrecision.self) ?? .day
        let municipality = municipality(context.regions)
        let place = text("place", maxLength: 200)
        let (lat, lon) = coordinates()
        let geoPrecision = integer("geo_precision", in: 1...3) ?? 2
        let summary = text("summary", required: true, maxLength: 4000, multiline: true)
        let perpetrator = text("perpetrator", maxLength: 200)
        let target = text("target", maxLength: 200)
        let communities = communities()
        let counts = IncidentRecord.maximumCount
        let killed = integer("killed", in: 0...counts) ?? 0
        let killedLow = integer("killed_low", in: 0...counts)
        let killedHigh = integer("killed_high", in: 0...counts)
        if let killedLow, killedLow > killed { fail("killed_low", "must not exceed killed (\(killedLow) > \(killed))") }
        if let killedHigh, killedHigh < killed { fail("killed_high", "must not be below killed (\(killedHigh) < \(killed))") }
        let injured = integer("injured", in: 0...counts) ?? 0
        let abducted = integer("abducted", in: 0...counts) ?? 0
        let displaced = integer("displaced", in: 0...counts) ?? 0
        let sourceType = choice("source_type", SourceType.self, required: true)
        let reliability = sourceReliability()
        let credibility = integer("info_credibility", in: 1...6)
        var sensitivity = choice("sensitivity", Sensitivity.self) ?? .restricted
        let tags = tags()

        guard errors.count == errorCount, let category, let subcategory, let occurredAt, let municipality,
            let summary, let sourceType
        else { return nil }
        // Some subjects endanger people by their nature: they are confidential whatever was asked.
        if let forced = context.taxonomy.subcategory(subcategory, of: category)?.forcedSensitivity {
            sensitivity = forced
        }
        return IncidentRecord(
            incidentID: incidentID, category: category, subcategory: subcategory, occurredAt: occurredAt,
            datePrecision: datePrecision, municipality: municipality, place: place, lat: lat, lon: lon,
            geoPrecision: geoPrecision, summary: summary, perpetrator: perpetrator, target: target,
            affectedCommunities: communities, killed: killed, killedLow: killedLow, killedHigh: killedHigh,
            injured: injured, abducted: abducted, displaced: displaced, sourceType: sourceType,
            sourceReliability: reliability, infoCredibility: credibility, sensitivity: sensitivity,
            tags: tags, personal: nil
        )
    }

    private mutating func taxonomy(_ taxonomy: Taxonomy) -> (String?, String?) {
        let category = text("category", required: true, maxLength: 100)
        var validCategory: String?
        if let category {
            if taxonomy.category(category) != nil {
                validCategory = category
            } else {
                fail("category", "unknown category '\(category)'; one of \(taxonomy.categories.map(\.code).joined(separator: ", "))")
            }
        }
        let subcategory = text("subcategory", required: true, maxLength: 100)
        guard let subcategory else { return (validCategory, nil) }
        if let validCategory {
            if taxonomy.subcategory(subcategory, of: validCategory) != nil { return (validCategory, subcategory) }
            let codes = taxonomy.category(validCategory)!.subcategories.map(\.code).joined(separator: ", ")
            if let owner = taxonomy.categoryOwning(subcategory: subcategory) {
                fail("subcategory", "'\(subcategory)' belongs to category \(owner.code), not \(validCategory); \(validCategory) has \(codes)")
            } else {
                fail("subcategory", "unknown sub-category '\(subcategory)' of \(validCategory); one of \(codes)")
            }
        } else if taxonomy.categoryOwning(subcategory: subcategory) == nil {
            fail("subcategory", "unknown sub-category '\(subcategory)'")
        }
        return (validCategory, nil)
    }

    private mutating func occurredAt(now: Date) -> String? {
        guard let value = value("occurred_at") else {
            fail("occurred_at", "is required")
            return nil
        }
        let format = "must be an RFC 3339 timestamp (2026-11-29T14:30:00+01:00) or a date (2026-11-29)"
        guard case .string(let raw) = value else {
            fail("occurred_at", format)
            return nil
        }
        let text = FieldReader.trimmed(raw)
        let latest = now.addingTimeInterval(IncidentRecord.futureTolerance)
        if let day = IncidentTime.parseDay(text) {
            // A date is a Kosovo calendar day: it may not be later than Kosovo's date (with tolerance).
            let canonical = CivilTime.day(day.year, day.month, day.day)
            if canonical > IncidentTime.kosovoDay(of: latest) {
                fail("occurred_at", "is in the future (\(canonical); today in Kosovo is \(IncidentTime.kosovoDay(of: now)))")
                return nil
            }
            return canonical
        }
        guard let date = IncidentTime.parseTimestamp(text) else {
            fail("occurred_at", format)
            return nil
        }
        if date > latest {
            fail("occurred_at", "is more than 10 minutes in the future (\(IncidentTime.formatTimestamp(date)))")
            return nil
        }
        // The day counted is Kosovo's, which an offset can move across 1900 (a date before it is a typo).
        if IncidentTime.kosovoDay(of: date) < "1900-01-01" {
            fail("occurred_at", "falls before 1900 in Kosovo (\(IncidentTime.formatTimestamp(date)))")
            return nil
        }
        return IncidentTime.formatTimestamp(date)
    }

    private mutating func municipality(_ regions: RegionDirectory) -> String? {
        guard let name = text("municipality", required: true, maxLength: 100) else { return nil }
        switch regions.resolveMunicipality(name) {
        case .found(let municipality):
            return municipality.code
        case .ambiguous(let candidates):
            fail("municipality", "'\(name)' is ambiguous; one of \(candidates.map { "\($0.code) (\($0.displayName))" }.joined(separator: ", "))")
        case .unknown(let suggestions):
            let hint =
                suggestions.isEmpty
                ? "give a municipality code (XK-PRI-01) or name"
                : "did you mean \(suggestions.map { "\($0.displayName) (\($0.code))" }.joined(separator: " or "))?"
            fail("municipality", "unknown municipality '\(name)'; \(hint)")
        }
        return nil
    }

    private mutating func coordinates() -> (Double?, Double?) {
        let lat = number("lat")
        let lon = number("lon")
        let latGiven = value("lat") != nil, lonGiven = value("lon") != nil
        if latGiven != lonGiven {
            fail(latGiven ? "lon" : "lat", "lat and lon go together: give both or neither")
            return (nil, nil)
        }
        guard let lat, let lon else { return (nil, nil) }
        var ok = true
        if !(41.8...43.3).contains(lat) {
            fail("lat", "must be inside Kosovo (41.8 to 43.3 N), got \(lat)")
            ok = false
        }
        if !(19.9...21.9).contains(lon) {
            fail("lon", "must be inside Kosovo (19.9 to 21.9 E), got \(lon)")
            ok = false
        }
        // Six decimals is about 10 cm: what a position can mean, and what people read back.
        let rounded = { (degrees: Double) in (degrees * 1_000_000).rounded() / 1_000_000 }
        return ok ? (rounded(lat), rounded(lon)) : (nil, nil)
    }

    private mutating func communities() -> [Community] {
        guard let items = array("affected_communities", maxCount: Community.allCases.count * 2) else { return [] }
        var result: [Community] = []
        for (index, item) in items.enumerated() {
            guard case .string(let text) = item, let community = Community(rawValue: text) else {
                fail("affected_communities[\(index)]", "must be one of \(Community.allCases.map(\.rawValue).joined(separator: ", "))")
                continue
            }
            if !result.contains(community) { result.append(community) }
        }
        return result
    }

    private mutating func sourceReliability() -> String? {
        guard let value = value("source_reliability") else { return nil }
        guard case .string(let text) = value, text.count == 1, "ABCDEF".contains(text.uppercased()) else {
            fail("source_reliability", "must be a letter from A (reliable) to F (cannot be judged)")
            return nil
        }
        return text.uppercased()
    }

    private mutating func tags() -> [String] {
        guard let items = array("tags", maxCount: 20) else { return [] }
        var result: [String] = []
        for (index, item) in items.enumerated() {
            let field = "tags[\(index)]"
            guard case .string(let raw) = item else {
                fail(field, "must be a string, not \(item.typeName)")
                continue
            }
            guard let tag = checkedText(raw, field: field, required: true, maxLength: 50, multiline: false) else { continue }
            if !result.contains(tag) { result.append(tag) }
        }
        return result
    }
}
