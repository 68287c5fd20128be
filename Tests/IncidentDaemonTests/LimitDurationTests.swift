import Foundation
import HTTPTypes
import HummingbirdTesting
import IncidentStore
import IncidentTesting
import Logging
import PostgresLibpq
import Testing

@testable import IncidentDaemon

@Suite("Durations of token lifetimes and the statement timeout")
struct LimitDurationTests {
    @Test("--expires: a duration, never, or by default 90 days")
    func tokenExpiry() {
        #expect(TokenExpiry.parse(nil) == .after(90 * 86_400))
        #expect(TokenExpiry.parse("never") == .never)
        #expect(TokenExpiry.parse("12h") == .after(12 * 3600))
        #expect(TokenExpiry.parse("30m") == .after(30 * 60))
        for bad in ["", "90", "0d", "-1d", "never ", "Never", "1y"] { #expect(TokenExpiry.parse(bad) == nil, "\(bad)") }
        #expect(TokenExpiry.never.expiresAt() == nil)
    }

    @Test("--statement-timeout: milliseconds, seconds or minutes; 0 for none")
    func statementTimeout() {
        #expect(TimeLimit(argument: "10s")?.duration == .seconds(10))
        #expect(TimeLimit(argument: "500ms")?.duration == .milliseconds(500))
        #expect(TimeLimit(argument: "2m")?.duration == .seconds(120))
        #expect(TimeLimit(argument: "0") != nil && TimeLimit(argument: "0")?.duration == nil)
        for bad in ["", "10", "s", "-5s", "1.5s", "10 s", "1h"] { #expect(TimeLimit(argument: bad) == nil, "\(bad)") }
    }
}
