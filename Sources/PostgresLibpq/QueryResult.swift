import CLibpq

/// The rows of one statement, copied out of libpq's result (text format).
public struct QueryResult: Sendable {
    public let columns: [String]
    public let rows: [Row]
    /// Rows affected by INSERT/UPDATE/DELETE, from the command tag.
    public let affectedRows: Int

    init(consuming result: OpaquePointer?, connection: OpaquePointer) throws {
        guard let result else {
            throw DatabaseError(kind: .connection, message: PostgresConnection.trimmed(PQerrorMessage(connection)))
        }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY, PGRES_SINGLE_TUPLE:
            break
        default:
            throw Self.error(from: result, connection: connection)
        }
        let columnCount = Int(PQnfields(result))
        let rowCount = Int(PQntuples(result))
        let columns = (0..<columnCount).map { String(cString: PQfname(result, Int32($0))) }
        var index: [String: Int] = [:]
        for (i, name) in columns.enumerated() where index[name] == nil { index[name] = i }
        var rows: [Row] = []
        rows.reserveCapacity(rowCount)
        for r in 0..<rowCount {
            var values: [String?] = []
            values.reserveCapacity(columnCount)
            for c in 0..<columnCount {
                if PQgetisnull(result, Int32(r), Int32(c)) == 1 {
                    values.append(nil)
                } else {
                    values.append(String(cString: PQgetvalue(result, Int32(r), Int32(c))))
                }
            }
            rows.append(Row(values: values, columnIndex: index))
        }
        self.columns = columns
        self.rows = rows
        self.affectedRows = Int(String(cString: PQcmdTuples(result))) ?? 0
    }

    private static func error(from result: OpaquePointer, connection: OpaquePointer) -> DatabaseError {
        func field(_ code: Character) -> String? {
            guard let value = PQresultErrorField(result, Int32(code.asciiValue!)) else { return nil }
            return String(cString: value)
        }
        let sqlState = field("C")
        let message = field("M") ?? PostgresConnection.trimmed(PQresultErrorMessage(result))
        let broken = PQstatus(connection) != CONNECTION_OK
        return DatabaseError(
            kind: broken || sqlState == nil ? .connection : .server,
            sqlState: sqlState,
            message: message.isEmpty ? PostgresConnection.trimmed(PQerrorMessage(connection)) : message,
            detail: field("D"),
            constraint: field("n")
        )
    }

    /// The first row, if any.
    public var first: Row? { rows.first }
}
