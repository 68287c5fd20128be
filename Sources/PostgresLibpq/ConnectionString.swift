import CLibpq
import Foundation

/// libpq connection strings.
public enum ConnectionString {
    /// `conninfo` (a `key=value` string or a `postgresql://` URI) pointed at another database.
    ///
    /// - Throws: ``DatabaseError`` when libpq cannot parse `conninfo`.
    public static func replacingDatabase(in conninfo: String, with database: String) throws -> String {
        var pairs = try parse(conninfo)
        pairs.removeAll { $0.key == "dbname" }
        pairs.append((key: "dbname", value: database))
        return pairs.map { "\($0.key)='\(quoted($0.value))'" }.joined(separator: " ")
    }

    /// The settings a connection string makes, in libpq's order.
    public static func parse(_ conninfo: String) throws -> [(key: String, value: String)] {
        var errorMessage: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &errorMessage) else {
            let message = errorMessage.map { String(cString: $0).trimmingCharacters(in: .whitespacesAndNewlines) } ?? "invalid connection string"
            if let errorMessage { PQfreemem(errorMessage) }
            throw DatabaseError(kind: .connection, message: message)
        }
        defer { PQconninfoFree(options) }
        var pairs: [(key: String, value: String)] = []
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val {
                pairs.append((String(cString: keyword), String(cString: value)))
            }
            option += 1
        }
        return pairs
    }

    /// A value quoted for a `key='value'` connection string.
    public static func quoted(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "'", with: "\\'")
    }
}
