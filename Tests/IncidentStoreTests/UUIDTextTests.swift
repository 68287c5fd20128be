import Crypto
import Foundation
import PostgresLibpq
import Testing

@testable import IncidentStore

@Suite("UUID text")
struct UUIDTextTests {
    @Test("canonical text reads and writes as Foundation's does")
    func matchesFoundation() {
        for _ in 0..<200 {
            let id = UUID()
            #expect(id.lowercasedText == id.uuidString.lowercased())
            #expect(UUID(canonical: id.uuidString) == id)
            #expect(UUID(canonical: id.lowercasedText) == id)
        }
    }

    @Test(
        "anything but 8-4-4-4-12 hex digits is refused",
        arguments: [
            "", "not-a-uuid", "fd701de0-3635-4733-b072-738bd62ff2b", "fd701de0-3635-4733-b072-738bd62ff2b12",
            "fd701de0x3635-4733-b072-738bd62ff2b1", "fd701de0-3635-4733-b072-738bd62ff2bg", "{fd701de0-3635-4733-b072-738bd62ff2b1}",
        ])
    func refused(_ text: String) {
        #expect(UUID(canonical: text) == nil)
    }
}
