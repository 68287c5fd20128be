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

enum Seeds {
    /// Taxonomy and regions from a real migrated database.
    static func reference() async throws -> ReferenceData {
        try await TestDatabase.with { db in try await ReferenceData.load(db.pool) }
    }
}
