import Foundation
import PostgresLibpq
import Testing

@testable import IncidentStore

@Suite("Checkpoint tokens")
struct CheckpointTests {
    @Test("a token round-trips and orders by transaction, then position")
    func roundTrip() {
        let checkpoint = Checkpoint(transactionID: 7_123, position: 42)
        #expect(Checkpoint(token: checkpoint.token) == checkpoint)
        #expect(Checkpoint(token: "") == .start)
        #expect(Checkpoint(transactionID: 1, position: 99) < Checkpoint(transactionID: 2, position: 1))
    }

    @Test("foreign tokens are refused", arguments: ["42", "v2.1.2", "v1.x.2", "v1.1.-2", "v1.1", "v1.1.2.3"])
    func refused(_ token: String) {
        #expect(Checkpoint(token: token) == nil)
    }
}
