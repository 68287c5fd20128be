import Foundation
import PostgresLibpq

/// A search of incidents by `q`: the one statement of what it finds.
///
/// An incident is found when its summary, place, perpetrator or target contains `q`, in any
/// position, case and diacritics ignored (`Peje` finds `Pejë`), `%`, `_` and `\` taken literally;
/// or, when `q` is a name of a municipality or district (in either language, or an alias; see
/// ``RegionDirectory/allNames(ofRegionsNamed:)``), one of that region's other names as whole
/// words: `Peja` also finds `Pejë` and `Peć`, which differ from it by more than diacritics, but
/// not "specific".
///
/// PostgreSQL folds both sides (`incident_search_fold`, `incident_search_pattern` and
/// `incidents.search_text`, migration 0021), so the rule has one output for rows that hold their
/// text in plain, served by a trigram index, and the same output for the text of confidential
/// rows once opened (``matches(_:on:)``).
struct IncidentSearch: Sendable {
    /// What sets a record's texts apart in its folded text; no text may hold it (control
    /// characters are refused), so a term that does can match nothing.
    static let separator: Unicode.Scalar = "\u{1F}"

    /// What was asked for, found in any position.
    let q: String
    /// The other names of the regions `q` names, found as whole words.
    let otherNames: [String]

    /// Nil for no search (no `q`, or an empty one).
    init?(_ q: String?, regions: RegionDirectory) {
        guard let q, !q.isEmpty else { return nil }
        var seen: Set<String> = [RegionName.fold(q)]
        self.q = q
        otherNames = regions.allNames(ofRegionsNamed: q).filter { seen.insert(RegionName.fold($0)).inserted }
    }

    /// The condition that `text` (an expression of a folded text: the column `search_text`, or
    /// `incident_search_text(record)`) holds `q` or one of the other names; `bind` turns a value
    /// into a parameter. A `q` with the separator in it can match no single text.
    func condition(on text: String, bind: (String) -> String) -> String {
        var found = otherNames.map { text + " ~ incident_search_word(" + bind($0) + ")" }
        if !q.unicodeScalars.contains(Self.separator) { found.insert(text + " LIKE incident_search_pattern(" + bind(q) + ")", at: 0) }
        return found.isEmpty ? "false" : "(" + found.joined(separator: " OR ") + ")"
    }

    /// Which of the opened records the search finds, by the same condition in PostgreSQL: the
    /// records of confidential incidents, whose rows hold their text sealed. One statement.
    func matches(_ records: [JSONValue], on connection: PostgresConnection) throws -> [Bool] {
        guard !records.isEmpty else { return [] }
        var parameters: [(any PostgresEncodable)?] = [JSONValue.array(records).encodedString]
        let found = condition(on: "incident_search_text(t.record)") { value in
            parameters.append(value)
            return "$\(parameters.count)"
        }
        let rows = try connection.query(
            "SELECT t.n::int FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS t(record, n) WHERE " + found, parameters
        ).rows
        let hits = Set(try rows.map { try $0.decode(0, as: Int.self) })
        return records.indices.map { hits.contains($0 + 1) }
    }
}
