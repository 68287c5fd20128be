import Foundation
import IncidentStore
import IncidentTesting
import Testing

@Suite("serve --disclosure-threshold (subprocess)")
struct DisclosureServeTests {
    @Test("the threshold reaches every answer's disclosure member; a threshold below 1 is refused with exit 64")
    func threshold() async throws {
        try await TestDatabase.with { db in
            let refused = try await run(
                Binaries.incidentd, ["serve", "--port", "1", "--database-url", db.conninfo, "--disclosure-threshold", "0"],
                environment: [:], timeout: .seconds(60))
            #expect(refused.status == 64 && refused.stderr.contains("--disclosure-threshold must be at least 1"), "\(refused.status) \(refused.stderr)")

            let tokens = AccessTokens(pool: db.pool)
            let analyst = try await tokens.create(name: "threshold-analyst", role: .analyst)
            let reviewer = try await tokens.create(name: "threshold-reviewer", role: .reviewer)
            let port = TestPorts.free()
            let daemon = try Daemon(conninfo: db.conninfo, port: port, arguments: ["--disclosure-threshold", "3"])
            defer { daemon.stop() }
            try await daemon.ready()
            let base = "http://127.0.0.1:\(port)/v1"
            for (token, rule) in [(analyst, "coarsened"), (reviewer, "exact")] {
                for path in ["/summaries?level=municipality", "/summaries?level=district", "/digests/weekly"] {
                    let reply = try await curl(base + path, token: token)
                    let disclosure = try JSONValue.parse(Data(reply.body.utf8)).objectValue?["disclosure"]
                    #expect(reply.status == 200 && disclosure == ["threshold": 3, "confidential": .string(rule)], "\(path): \(reply.body)")
                }
            }
        }
    }
}
