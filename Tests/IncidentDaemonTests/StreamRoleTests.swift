import Foundation
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

@Suite("The live stream for each role")
struct StreamRoleTests {
    @Test("reviewers and analysts follow the stream; analysts never get a confidential incident from it")
    func streamRoles() async throws {
        try await TestDatabase.with { db in
            let tokens = AccessTokens(pool: db.pool)
            let reporter = try await tokens.create(name: "reporter", role: .reporter)
            let reviewer = try await tokens.create(name: "reviewer", role: .reviewer)
            let analyst = try await tokens.create(name: "analyst", role: .analyst)
            let port = TestPorts.free()
            let daemon = try Daemon(conninfo: db.conninfo, port: port)
            defer { daemon.stop() }
            try await daemon.ready()
            let env = [
                "ICTL_SERVER": "http://127.0.0.1:\(port)", "ICTL_TOKEN": reporter, "ICTL_OUTBOX": FileManager.default.temporaryDirectory.path + "/outbox-\(UUID())",
            ]
            func report(_ category: String, _ subcategory: String, _ summary: String) async throws -> String {
                let result = try await run(
                    Binaries.ictl,
                    [
                        "report", "--category", category, "--subcategory", subcategory, "--occurred-at", "2026-11-20",
                        "--municipality", "Prizren", "--source-type", "ngo", "--summary", summary,
                    ], environment: env)
                return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            }
            let openID = try await report("unrest", "peaceful_protest", "Peaceful protest.")
            let secretID = try await report("sexual_violence", "sexual_violence", "Reported to a women's organisation.")
            let laterID = try await report("unrest", "peaceful_protest", "A second protest, reported after the confidential incident.")
            #expect(!openID.isEmpty && !secretID.isEmpty && !laterID.isEmpty)

            // Each stream is read until the last incident has arrived, so an absence is one the stream went past.
            func stream(_ token: String) async throws -> String {
                let follower = try StreamFollower(port: port, token: token)
                defer { follower.stop() }
                return try await follower.received(["event: IncidentReported", laterID])
            }
            let reviewed = try await stream(reviewer)
            #expect(reviewed.contains(openID) && reviewed.contains(laterID), "reviewers follow the stream")
            let analysed = try await stream(analyst)
            #expect(analysed.contains(openID) && analysed.contains(laterID), "analysts follow the stream")
            #expect(!analysed.contains(secretID), "no confidential incident in an analyst's stream")
            #expect(!analysed.contains("ciphertext"))
        }
    }
}
