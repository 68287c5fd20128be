import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import IncidentStore
import IncidentTesting
import Logging
import NIOCore
import PostgresLibpq
import Testing

@testable import IncidentDaemon

func eventCount(_ db: TestDatabase) async throws -> Int {
    try await db.pool.withConnection { try $0.query("SELECT count(*) FROM events").first!.decode(0) }
}

func eventCount(_ db: TestDatabase, stream: String) async throws -> Int {
    try await db.pool.withConnection { try $0.query("SELECT count(*) FROM events WHERE stream = $1", [stream]).first!.decode(0) }
}
