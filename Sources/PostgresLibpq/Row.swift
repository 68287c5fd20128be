/// One result row; columns by position or by name, decoded from text.
public struct Row: Sendable {
    public let values: [String?]
    let columnIndex: [String: Int]

    /// The column's value decoded as `T`; throws when it is NULL or does not decode.
    public func decode<T: PostgresDecodable>(_ column: Int, as type: T.Type = T.self) throws -> T {
        guard column < values.count, let text = values[column] else {
            throw PostgresDecodingError(type: "\(T.self)", text: "NULL")
        }
        return try T(postgresText: text)
    }

    /// The column's value decoded as `T`, or nil when it is NULL.
    public func decodeIfPresent<T: PostgresDecodable>(_ column: Int, as type: T.Type = T.self) throws -> T? {
        guard column < values.count, let text = values[column] else { return nil }
        return try T(postgresText: text)
    }

    public func decode<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T {
        guard let index = columnIndex[column] else { throw PostgresDecodingError(type: "\(T.self)", text: "no column \(column)") }
        return try decode(index, as: T.self)
    }

    public func decodeIfPresent<T: PostgresDecodable>(_ column: String, as type: T.Type = T.self) throws -> T? {
        guard let index = columnIndex[column] else { return nil }
        return try decodeIfPresent(index, as: T.self)
    }
}
