import PostgresLibpq

/// The incident taxonomy, as seeded in the database (`Migrations/0003_taxonomy.sql`).
public struct Taxonomy: Sendable, Codable, Equatable {
    public struct Category: Sendable, Codable, Equatable {
        public var code: String
        public var label: String
        public var subcategories: [Subcategory]
    }

    public struct Subcategory: Sendable, Codable, Equatable {
        public var code: String
        public var label: String
        /// Incidents of this sub-category always carry this sensitivity (`confidential`).
        public var forcedSensitivity: Sensitivity?

        enum CodingKeys: String, CodingKey {
            case code, label, forcedSensitivity = "forced_sensitivity"
        }
    }

    public var categories: [Category]

    public init(categories: [Category]) { self.categories = categories }

    public func category(_ code: String) -> Category? { categories.first { $0.code == code } }

    /// The sub-category `code` of `category`, or nil when it does not belong to it.
    public func subcategory(_ code: String, of category: String) -> Subcategory? {
        self.category(category)?.subcategories.first { $0.code == code }
    }

    /// The category a sub-category belongs to (to suggest the right one in errors).
    public func categoryOwning(subcategory code: String) -> Category? {
        categories.first { $0.subcategories.contains { $0.code == code } }
    }

    /// Loads the seeded taxonomy.
    public static func load(_ connection: PostgresConnection) throws -> Taxonomy {
        let categories = try connection.query("SELECT code, label FROM categories ORDER BY sort_order, code").rows
        let subcategories = try connection.query(
            """
            SELECT code, category_code, label, forced_sensitivity FROM subcategories ORDER BY sort_order, code
            """
        ).rows
        return Taxonomy(
            categories: try categories.map { row in
                let code: String = try row.decode(0)
                return Category(
                    code: code,
                    label: try row.decode(1),
                    subcategories: try subcategories.filter { $0.values[1] == code }.map { sub in
                        Subcategory(
                            code: try sub.decode(0),
                            label: try sub.decode(2),
                            forcedSensitivity: try sub.decodeIfPresent(3, as: String.self).flatMap(Sensitivity.init(rawValue:))
                        )
                    }
                )
            })
    }
}
