import PostgresLibpq

/// A query's conditions built from a filter a client sent: each bad value is an error naming its
/// field, all of them reported at once; values are bound as parameters, never spliced into SQL.
protocol FilterQuery {
    var conditions: [String] { get set }
    var parameters: [(any PostgresEncodable)?] { get set }
    var errors: [FieldError] { get set }
}

extension FilterQuery {
    /// A placeholder for `value`, bound as the next parameter.
    mutating func bind(_ value: any PostgresEncodable) -> String {
        parameters.append(value)
        return "$\(parameters.count)"
    }

    /// ` WHERE …` of every condition, or nothing.
    var whereClause: String { conditions.isEmpty ? "" : " WHERE " + conditions.joined(separator: " AND ") }

    /// - Throws: ``ServiceError/invalid(_:)`` naming each bad value.
    func check() throws {
        guard errors.isEmpty else { throw ServiceError.invalid(ValidationFailure(errors)) }
    }
}
