import Foundation
import IncidentStore
import PostgresLibpq

/// A small valid event for store tests.
func testEvent(_ id: UUID = UUID(), type: String = "TestEvent", data: JSONValue = .object(["n": .number(1)])) -> EventToAppend {
    EventToAppend(eventID: id, type: type, schemaVersion: 1, data: data, metadata: EventMetadata(principal: "tester", role: "admin"))
}

/// Counts rows of the events table.
func eventCount(_ pool: ConnectionPool, stream: String? = nil) async throws -> Int {
    try await pool.withConnection { connection in
        if let stream {
            return try connection.query("SELECT count(*) FROM events WHERE stream = $1", [stream]).first!.decode(0)
        }
        return try connection.query("SELECT count(*) FROM events").first!.decode(0)
    }
}

/// Each index on `tables` (schema public) as "table: definition" (with "primary key" for the key),
/// its name left out: a swap renames tables, not their indexes.
func indexDefinitions(of tables: [String], on connection: PostgresConnection) throws -> [String] {
    try connection.query(
        """
        SELECT c.relname || ': ' || CASE WHEN i.indisprimary THEN 'primary key ' ELSE '' END
               || regexp_replace(pg_get_indexdef(i.indexrelid), '^CREATE (UNIQUE )?INDEX \\S+ ON \\S+', '')
        FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid
        WHERE c.relname = ANY($1::text[]) AND c.relnamespace = 'public'::regnamespace ORDER BY 1
        """, ["{" + tables.joined(separator: ",") + "}"]
    ).rows.map { try $0.decode(0) }
}
