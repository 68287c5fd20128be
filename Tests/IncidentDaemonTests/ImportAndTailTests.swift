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

@Suite("ictl import and tail -f (subprocesses)")
struct ImportAndTailTests {
    @Test("import NDJSON and CSV with a per-line report; running it again stores nothing twice; tail -f prints live events")
    func importAndTail() async throws {
        try await TestDatabase.with { db in
            let admin = try await AccessTokens(pool: db.pool).create(name: "ops", role: .admin)
            let port = TestPorts.free()
            let home = FileManager.default.temporaryDirectory.appendingPathComponent("ictl-import-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: home) }
            let env = [
                "ICTL_SERVER": "http://127.0.0.1:\(port)", "ICTL_TOKEN": admin, "HOME": home, "XDG_DATA_HOME": home + "/data", "XDG_CONFIG_HOME": home + "/config",
            ]
            let daemon = try Daemon(conninfo: db.conninfo, port: port)
            defer { daemon.stop() }
            try await daemon.ready()

            // tail -f from the start, in the background, writing to a file.
            let tailOutput = home + "/tail.out"
            let tail = try Self.startTail(env, writingTo: tailOutput)
            defer { tail.terminate() }

            let ndjson = home + "/reports.ndjson"
            try Data(
                [
                    report().encodedString,
                    report(["summary": "Second report, same day."]).encodedString,
                    report(["occurred_at": "2099-01-01"]).encodedString,
                ].joined(separator: "\n").utf8
            ).write(to: URL(fileURLWithPath: ndjson))
            let first = try await run(Binaries.ictl, ["import", ndjson], environment: env)
            #expect(first.status == 65, "one line is rejected: \(first.stderr)")
            #expect(first.stderr.contains("line 3"))
            #expect(first.stderr.contains("2 stored"))
            let second = try await run(Binaries.ictl, ["import", ndjson], environment: env)
            #expect(second.stderr.contains("0 stored, 2 already stored"), "\(second.stderr)")

            let csv = home + "/reports.csv"
            try Data(
                """
                category,subcategory,occurred_at,municipality,summary,source_type,killed,tags
                unrest,peaceful_protest,2026-11-20,Prishtina,"Protest in front of the assembly, peaceful",media,0,protest;assembly
                explosives,grenade,2026-11-21,Gjilan,Grenade thrown into a yard,police,1,
                """.utf8
            ).write(to: URL(fileURLWithPath: csv))
            let csvRun = try await run(Binaries.ictl, ["import", csv], environment: env)
            #expect(csvRun.status == 0, "\(csvRun.stderr)")
            #expect(csvRun.stderr.contains("2 stored"))
            #expect(try await eventCount(db) == 4)

            let printed = try await Self.text(of: tailOutput, onceItHasLines: 4)
            let lines = printed.split(separator: "\n")
            #expect(lines.count == 4, "tail -f printed every event once: \(printed)")
            #expect(lines.allSatisfy { $0.contains("IncidentReported") })
        }
    }

    /// `ictl tail -f --json` from the start, in the background, writing to `output`.
    private static func startTail(_ env: [String: String], writingTo output: String) throws -> Process {
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let tail = Process()
        tail.executableURL = URL(fileURLWithPath: Binaries.ictl)
        tail.arguments = ["tail", "-f", "--json"]
        tail.environment = ProcessInfo.processInfo.environment.merging(env) { _, new in new }
        tail.standardOutput = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        tail.standardError = FileHandle.nullDevice
        try tail.run()
        return tail
    }

    /// The file's text once it has `count` lines, or as it is after 10 s.
    private static func text(of file: String, onceItHasLines count: Int) async throws -> String {
        var printed = ""
        for _ in 0..<100 {
            printed = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
            if printed.split(separator: "\n").count >= count { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        return printed
    }
}
