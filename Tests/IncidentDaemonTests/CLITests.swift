import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

/// The built binaries, next to the test bundle (`swift build --build-tests` builds them).
enum Binaries {
    static var directory: URL {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // The test runner may be inside an .xctest bundle directory.
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("ictl").path) && url.path != "/" {
            url.deleteLastPathComponent()
        }
        return url
    }

    static var incidentd: String { directory.appendingPathComponent("incidentd").path }
    static var ictl: String { directory.appendingPathComponent("ictl").path }
}

/// A finished `ictl` run.
struct Run: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a binary to completion with `environment` added, stdin closed. After `timeout` it is
/// killed (status -9): a test of something that should exit must not hang when it does not.
/// The wait is on a thread of its own: the whole suite runs on two shared threads, and a test
/// blocking one of them for a subprocess holds up every other test's async code (timings such as
/// the daemon's recovery from a database restart included).
func run(_ tool: String, _ arguments: [String], environment: [String: String], timeout: Duration? = nil) async throws -> Run {
    try await onThread { try runBlocking(tool, arguments, environment: environment, timeout: timeout) }
}

private func runBlocking(_ tool: String, _ arguments: [String], environment: [String: String], timeout: Duration?) throws -> Run {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("ictl-out-\(UUID().uuidString)")
    let err = FileManager.default.temporaryDirectory.appendingPathComponent("ictl-err-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    defer {
        try? FileManager.default.removeItem(at: out)
        try? FileManager.default.removeItem(at: err)
    }
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    process.standardInput = FileHandle.nullDevice
    try process.run()
    var killed = false
    if let timeout {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            killed = true
        }
    }
    process.waitUntilExit()
    return Run(
        status: killed ? -9 : process.terminationStatus,
        stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? ""
    )
}

/// `incidentd serve` as a child process on a test database.
final class Daemon: @unchecked Sendable {
    let process = Process()
    let port: Int

    /// - Parameters:
    ///   - conninfo: the database; nil for the embedded cluster (give `--data-dir` in `arguments`).
    ///   - log: a file that gets what the daemon writes to stderr (its log); none when nil.
    init(conninfo: String?, port: Int, arguments: [String] = [], log: String? = nil) throws {
        self.port = port
        process.executableURL = URL(fileURLWithPath: Binaries.incidentd)
        // An external database needs a master key: the test process's, which its databases are bound to.
        let external = conninfo.map { ["--database-url", $0] + (arguments.contains("--master-key-file") ? [] : ["--master-key-file", TestKeys.file]) } ?? []
        process.arguments = ["serve", "--port", String(port), "--pool-size", "2"] + external + arguments
        process.standardOutput = FileHandle.nullDevice
        if let log {
            _ = FileManager.default.createFile(atPath: log, contents: nil)
            process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        } else {
            process.standardError = FileHandle.nullDevice
        }
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// Waits until /readyz answers 200; records an issue when the daemon exits or does not get there.
    func ready() async throws {
        for _ in 0..<200 {
            guard process.isRunning else {
                Issue.record("incidentd exited (status \(process.terminationStatus)) before it was ready")
                return
            }
            if let (_, response) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/readyz")!),
               (response as? HTTPURLResponse)?.statusCode == 200 { return }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("incidentd did not become ready")
    }

    func stop() {
        process.terminate()
        process.waitUntilExit()
    }

    /// Dies at once, as in a crash or `kill -9`: nothing is shut down cleanly.
    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// The value of an unlabelled gauge on /metrics, nil when absent or unreachable.
    func metric(_ name: String) async -> Double? {
        guard let (data, _) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/metrics")!) else { return nil }
        for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix(name + " ") {
            return Double(line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces))
        }
        return nil
    }
}

@Suite("ictl against a live incidentd (subprocesses)")
struct CLITests {
    @Test("login, report, show, stale amend (76), amend, verify, list; offline report (75) kept sealed, outbox sync, replay: one incident")
    func endToEnd() async throws {
        try await TestDatabase.with { db in
            let admin = try await AccessTokens(pool: db.pool).create(name: "field-officer", role: .admin)
            let port = Int.random(in: 20_000...32_000)
            let home = FileManager.default.temporaryDirectory.appendingPathComponent("ictl-home-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: home) }
            let env = ["ICTL_SERVER": "http://127.0.0.1:\(port)", "ICTL_TOKEN": admin, "HOME": home, "XDG_DATA_HOME": home + "/data", "XDG_CONFIG_HOME": home + "/config"]
            func ictl(_ arguments: String...) async throws -> Run { try await run(Binaries.ictl, arguments, environment: env) }

            var daemon = try Daemon(conninfo: db.conninfo, port: port)
            try await daemon.ready()
            // Online once: ictl stores the server's outbox key, to seal what it must queue later.
            let login = try await ictl("login")
            #expect(login.status == 0, "\(login.stderr)")

            let reported = try await ictl("report", "--category", "ethnic_violence", "--subcategory", "assault", "--occurred-at", "2026-11-28",
                                    "--municipality", "Zubin Potok", "--source-type", "witness", "--summary", "Two men assaulted a returnee.")
            #expect(reported.status == 0, "\(reported.stderr)")
            let id = reported.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(UUID(uuidString: id) != nil, "stdout is the incident id alone: \(reported.stdout)")

            let shown = try await ictl("show", id, "--format", "json")
            #expect(shown.status == 0 && shown.stdout.contains("XK-MIT-07"))

            let stale = try await ictl("amend", id, "--expected-version", "3", "--set", "killed=1", "--reason", "late report")
            #expect(stale.status == 76, "\(stale.stderr)")
            let amended = try await ictl("amend", id, "--expected-version", "1", "--set", "municipality=pec", "--reason", "wrong municipality")
            #expect(amended.status == 0 && amended.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == id)
            let verified = try await ictl("verify", id, "--expected-version", "2", "--note", "confirmed by police")
            #expect(verified.status == 0, "\(verified.stderr)")

            var listed = Run(status: 1, stdout: "", stderr: "")
            for _ in 0..<50 {
                listed = try await ictl("list", "--district", "XK-PEJ", "--format", "json")
                if listed.stdout.contains(id) && listed.stdout.contains("verified") { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(listed.status == 0 && listed.stdout.contains(id) && listed.stdout.contains("verified"))
            #expect(try await ictl("show", UUID().uuidString).status == 66)
            #expect(try await run(Binaries.ictl, ["list"], environment: env.merging(["ICTL_TOKEN": "il_wrong"]) { _, new in new }).status == 77)

            // Offline: the daemon is down; the report waits in the outbox.
            daemon.stop()
            let file = home + "/report.json"
            let incidentID = UUID().uuidString.lowercased()
            try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
            try Data("""
                {"incident_id": "\(incidentID)", "category": "return_obstacle", "subcategory": "property_occupation",
                 "occurred_at": "2026-11-27", "municipality": "Klinë", "summary": "Returnee house occupied.", "source_type": "victim"}
                """.utf8).write(to: URL(fileURLWithPath: file))
            let offline = try await ictl("report", "--file", file)
            #expect(offline.status == 75, "\(offline.stderr)")
            #expect(offline.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == incidentID)
            let queued = try await ictl("outbox", "list", "--format", "json")
            #expect(queued.stdout.contains(incidentID))
            #expect(disclosures(of: ["Returnee house occupied."], under: [home + "/data", home + "/config"]).isEmpty, "queued sealed")
            #expect(try await ictl("list").status == 69)

            daemon = try Daemon(conninfo: db.conninfo, port: port)
            try await daemon.ready()
            let sync = try await ictl("outbox", "sync")
            #expect(sync.status == 0, "\(sync.stderr)")
            #expect(try await ictl("outbox", "sync").status == 0)
            let replay = try await ictl("report", "--file", file)
            #expect(replay.status == 0, "\(replay.stderr)")
            #expect(!(try await ictl("outbox", "list", "--format", "json").stdout.contains(incidentID)), "the outbox is empty")
            daemon.stop()

            let stored: Int = try await db.pool.withConnection {
                try $0.query("SELECT count(*) FROM events WHERE stream = $1", ["incident-" + incidentID]).first!.decode(0)
            }
            #expect(stored == 1, "exactly one incident, reported once")
        }
    }
}

@Suite("The live stream for each role")
struct StreamRoleTests {
    @Test("reviewers and analysts follow the stream; analysts never get a confidential incident from it")
    func streamRoles() async throws {
        try await TestDatabase.with { db in
            let tokens = AccessTokens(pool: db.pool)
            let reporter = try await tokens.create(name: "reporter", role: .reporter)
            let reviewer = try await tokens.create(name: "reviewer", role: .reviewer)
            let analyst = try await tokens.create(name: "analyst", role: .analyst)
            let port = Int.random(in: 20_000...32_000)
            let daemon = try Daemon(conninfo: db.conninfo, port: port)
            defer { daemon.stop() }
            try await daemon.ready()
            let env = ["ICTL_SERVER": "http://127.0.0.1:\(port)", "ICTL_TOKEN": reporter, "ICTL_OUTBOX": FileManager.default.temporaryDirectory.path + "/outbox-\(UUID())"]
            func report(_ category: String, _ subcategory: String, _ summary: String) async throws -> String {
                let result = try await run(Binaries.ictl, ["report", "--category", category, "--subcategory", subcategory, "--occurred-at", "2026-11-20",
                                                           "--municipality", "Prizren", "--source-type", "ngo", "--summary", summary], environment: env)
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
