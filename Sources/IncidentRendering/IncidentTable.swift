import Foundation

/// The incident list as a table (`ictl list`, the console's downloads): one statement of its
/// columns, their HXL hashtags and what each cell holds.
public enum IncidentTable {
    public static let columns = ["ID", "OCCURRED", "MUNICIPALITY", "CATEGORY", "STATUS", "VERSION", "KILLED", "INJURED", "SUMMARY"]
    public static let hxl = [
        "#event+id", "#date+occurred", "#adm2+code", "#event+type", "#status", "#meta+version", "#affected+killed", "#affected+injured", "#description",
    ]

    /// One incident's cells, as both sides have them.
    public struct Row: Sendable {
        public var id, occurredAt, municipality, category, subcategory, status: String
        /// Absent in a partial record: the cell is then empty.
        public var version, killed, injured: Int?
        public var summary: String

        public init(
            id: String, occurredAt: String, municipality: String, category: String, subcategory: String, status: String, version: Int?, killed: Int?,
            injured: Int?, summary: String
        ) {
            (self.id, self.occurredAt, self.municipality, self.category, self.subcategory, self.status) = (id, occurredAt, municipality, category, subcategory, status)
            (self.version, self.killed, self.injured, self.summary) = (version, killed, injured, summary)
        }

        /// The cells in the order of ``IncidentTable/columns``; a summary's line breaks become spaces.
        public var cells: [String] {
            [
                id, occurredAt, municipality, "\(category)/\(subcategory)", status, version.map(String.init) ?? "", killed.map(String.init) ?? "",
                injured.map(String.init) ?? "",
                summary.replacingOccurrences(of: "\n", with: " "),
            ]
        }
    }
}
