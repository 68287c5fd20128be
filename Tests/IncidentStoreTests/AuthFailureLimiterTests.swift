import IncidentStore
import Testing

@Suite("Failed-authentication limit per address")
struct AuthFailureLimiterTests {
    @Test("the address table stays bounded however many addresses fail")
    func boundedAddresses() {
        let limiter = AuthFailureLimiter(limit: 3, capacity: 100)
        for index in 0..<5000 { limiter.recordFailure(from: "10.0.\(index / 256).\(index % 256)") }
        #expect(limiter.count <= 100)
        // A refused address is kept over addresses that merely failed once.
        let now = ContinuousClock.now
        for _ in 0..<3 { limiter.recordFailure(from: "192.0.2.1", now: now) }
        for index in 0..<50 { limiter.recordFailure(from: "198.51.100.\(index)", now: now) }
        #expect(limiter.refusal(for: "192.0.2.1", now: now) != nil)
        #expect(limiter.refusal(for: "198.51.100.1", now: now) == nil)
        #expect(limiter.refusal(for: "192.0.2.1", now: now + .seconds(61)) == nil, "the refusal lasts 60 s")
    }

    @Test("the refusal starts at the limit-th failure within the window, not before, and older failures do not count")
    func window() {
        let limiter = AuthFailureLimiter(limit: 20)
        let start = ContinuousClock.now
        for second in 0..<19 { limiter.recordFailure(from: "203.0.113.5", now: start + .seconds(second)) }
        #expect(limiter.refusal(for: "203.0.113.5", now: start + .seconds(19)) == nil, "19 failures: not yet")
        // Sixty seconds after the first, it no longer counts: the 20th failure here makes 19 in the window.
        limiter.recordFailure(from: "203.0.113.5", now: start + .seconds(60))
        #expect(limiter.refusal(for: "203.0.113.5", now: start + .seconds(60)) == nil)
        limiter.recordFailure(from: "203.0.113.5", now: start + .seconds(60.5))
        let wait = limiter.refusal(for: "203.0.113.5", now: start + .seconds(61))
        #expect(wait.map { $0 > .seconds(59) && $0 <= .seconds(60) } == true, "refused for 60 s from the 20th: \(String(describing: wait))")
    }
}
