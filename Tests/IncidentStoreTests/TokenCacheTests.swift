import Foundation
import PostgresLibpq
import Testing

@testable import IncidentStore

@Suite("Token cache")
struct TokenCacheTests {
    @Test("a remembered token stops working when it expires")
    func rememberedExpiry() {
        let cache = TokenCache()
        cache.forgetAll(listening: true)
        let expiresAt = Date(timeIntervalSince1970: 2_000_000_000)
        cache.remember(.init(principal: Principal(name: "short-lived", role: .analyst), expiresAt: expiresAt), hash: "h", since: cache.generation)
        #expect(cache.principal(hash: "h", now: expiresAt.addingTimeInterval(-1))?.name == "short-lived")
        #expect(cache.principal(hash: "h", now: expiresAt) == nil)
        // Nothing read before a change is remembered after it.
        let before = cache.generation
        cache.forgetAll()
        cache.remember(.init(principal: Principal(name: "stale", role: .admin), expiresAt: nil), hash: "s", since: before)
        #expect(cache.principal(hash: "s", now: Date()) == nil)
        cache.forgetAll(listening: false)
        cache.remember(.init(principal: Principal(name: "unheard", role: .admin), expiresAt: nil), hash: "u", since: cache.generation)
        #expect(cache.count == 0, "nothing is remembered while nobody listens")
    }

    @Test("a token is remembered for a bounded time, whatever the listener hears")
    func rememberedAge() async throws {
        let cache = TokenCache(maximumAge: .milliseconds(20))
        cache.forgetAll(listening: true)
        cache.remember(.init(principal: Principal(name: "field-1", role: .reporter), expiresAt: nil), hash: "f", since: cache.generation)
        #expect(cache.principal(hash: "f", now: Date())?.name == "field-1")
        try await Task.sleep(for: .milliseconds(40))
        #expect(cache.principal(hash: "f", now: Date()) == nil)
    }
}
