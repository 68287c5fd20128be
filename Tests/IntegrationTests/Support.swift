import Foundation
import IncidentStore

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
