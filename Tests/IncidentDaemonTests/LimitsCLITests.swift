import Foundation
import HTTPTypes
import HummingbirdTesting
import IncidentStore
import IncidentTesting
import Logging
import PostgresLibpq
import Testing

@testable import IncidentDaemon

@Suite("Limits through the binaries: token lifetimes, serve flags, ictl login from stdin (subprocesses)")
struct LimitsCLITests {
    @Test("incidentd token create without --expires makes a token that expires in 90 days; never must be said")
    func defaultExpiry() async throws {
        try await TestDatabase.with { db in
            func create(_ extra: [String]) async throws -> Run {
                try await run(Binaries.incidentd, ["token", "create", "--database-url", db.conninfo] + extra, environment: [:])
            }
            let plain = try await create(["--name", "field-1", "--role", "reporter"])
            #expect(plain.status == 0, "\(plain.stderr)")
            let forever = try await create(["--name", "ops-1", "--role", "admin", "--expires", "never"])
            #expect(forever.status == 0, "\(forever.stderr)")
            let scraper = try await create(["--name", "scraper-1", "--role", "metrics"])
            #expect(scraper.status == 0, "\(scraper.stderr)")
            #expect(try await create(["--name", "bad-1", "--role", "reporter", "--expires", "sometime"]).status == 64)
            let listed = Dictionary(uniqueKeysWithValues: try await AccessTokens(pool: db.pool).list().map { ($0.name, $0) })
            let expiresAt = try #require(listed["field-1"]?.expiresAt)
            #expect(abs(expiresAt.timeIntervalSinceNow - 90 * 86_400) < 3600)
            #expect(listed["ops-1"] != nil && listed["ops-1"]?.expiresAt == nil)
            #expect(listed["scraper-1"]?.role == .metrics && listed["scraper-1"]?.expiresAt != nil)
        }
    }

    /// On a cluster of its own: the locks it takes (ACCESS EXCLUSIVE, which gives the holder a
    /// transaction id) would hold back every other test's commit-safe reads in a shared cluster.
    @Test("serve --statement-timeout: 503 database_timeout past it, the projector not cut; --auth-failure-limit: a refused address is not looked up")
    func serveFlags() async throws {
        let root = FileManager.default.temporaryDirectory.path + "/incident-limits-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: root) }
        let cluster = try LocalCluster(dataDirectory: root + "/pg")
        let logger = Logger(label: "limits.cluster")
        defer { try? cluster.stop(logger: logger) }
        try await onOwnThread { try cluster.start(logger: logger) }
        let pool = ConnectionPool(configuration: .init(conninfo: cluster.conninfo(), maxConnections: 2))
        defer { Task { await pool.close() } }
        try await Migrator().migrate(pool, logger: logger)
        let tokens = AccessTokens(pool: pool)
        let analyst = try await tokens.create(name: "flags-analyst", role: .analyst)
        let reporter = try await tokens.create(name: "flags-reporter", role: .reporter)
        let port = TestPorts.free()
        let daemon = try Daemon(conninfo: cluster.conninfo(), port: port, arguments: ["--statement-timeout", "500ms", "--auth-failure-limit", "3"])
        defer { daemon.stop() }
        try await daemon.ready()
        let base = "http://127.0.0.1:\(port)"
        #expect(try await curl(base + "/v1/incidents", token: analyst).status == 200)

        // A statement that waits for a lock past the limit is cut: 503 database_timeout. The
        // projector waits for the same lock three times as long and is not cut.
        var holder = try await LockHolder.take("LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE", conninfo: cluster.conninfo())
        let created = try await curl(base + "/v1/incidents", token: reporter, method: "POST", body: (Data(report().encoded()), "application/json"))
        #expect(created.status == 201, "\(created.body)")
        let waited = try await curl(base + "/v1/incidents", token: analyst)
        #expect(waited.status == 503 && waited.body.contains("database_timeout"), "\(waited.status) \(waited.body)")
        try await Task.sleep(for: .milliseconds(1500))
        try await holder.release()
        let id = (try? JSONValue.parse(Data(created.body.utf8)))?.objectValue?["incident_id"]?.stringValue ?? "?"
        var listed = ""
        for _ in 0..<100 where !listed.contains(id) {
            listed = try await curl(base + "/v1/incidents", token: analyst).body
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(listed.contains(id), "the projector applied the report after the wait")
        let daemonLog = daemon.logged
        #expect(!daemonLog.contains("projection failed"), "the projector's statements have no API timeout")
        #expect(daemonLog.contains("database statement timed out"))

        // --auth-failure-limit 3: the fourth request from the address is refused, and without a
        // lookup: with the token table locked it is answered at once, while a lookup from
        // another address waits for the lock and times out.
        for _ in 1...3 { #expect(try await curl(base + "/v1/taxonomy", token: "il_wrong").status == 401) }
        #expect(try await curl(base + "/v1/taxonomy", token: analyst).status == 429, "the fourth request after three failures")
        holder = try await LockHolder.take("LOCK TABLE api_tokens IN ACCESS EXCLUSIVE MODE", conninfo: cluster.conninfo())
        let refused = try await curl(base + "/v1/taxonomy", token: "il_another-guess")
        let looked = try await curl(base + "/v1/taxonomy", token: "il_unknown-token", from: "127.0.0.2")
        try await holder.release()
        #expect(refused.status == 429)
        #expect(looked.status == 503 && looked.body.contains("database_timeout"), "a lookup waits for the lock: \(looked.status) \(looked.body)")
    }

    @Test("ictl login --token-stdin reads the token from standard input")
    func loginFromStdin() async throws {
        try await TestDatabase.with { db in
            let token = try await AccessTokens(pool: db.pool).create(name: "stdin-user", role: .analyst)
            let port = TestPorts.free()
            let daemon = try Daemon(conninfo: db.conninfo, port: port)
            defer { daemon.stop() }
            try await daemon.ready()
            let home = FileManager.default.temporaryDirectory.appendingPathComponent("ictl-stdin-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: home) }
            // An empty ICTL_TOKEN counts as none: the token can only come from stdin, then from the saved config.
            let env = ["HOME": home, "XDG_CONFIG_HOME": home + "/config", "XDG_DATA_HOME": home + "/data", "ICTL_TOKEN": "", "ICTL_SERVER": ""]
            let login = try await onOwnThread { () throws -> Run in
                let process = Process()
                process.executableURL = URL(fileURLWithPath: Binaries.ictl)
                process.arguments = ["login", "--server", "http://127.0.0.1:\(port)", "--token-stdin"]
                process.environment = ProcessInfo.processInfo.environment.merging(env) { _, new in new }
                let input = Pipe(), errors = Pipe()
                process.standardInput = input
                process.standardOutput = FileHandle.nullDevice
                process.standardError = errors
                try process.run()
                input.fileHandleForWriting.write(Data((token + "\n").utf8))
                try input.fileHandleForWriting.close()
                process.waitUntilExit()
                return Run(status: process.terminationStatus, stdout: "", stderr: String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
            }
            #expect(login.status == 0, "\(login.stderr)")
            let listed = try await run(Binaries.ictl, ["taxonomy", "--format", "json"], environment: env)
            #expect(listed.status == 0, "the saved token works: \(listed.stderr)")
            // Nothing on stdin: a usage error, not a login without a token.
            #expect(try await run(Binaries.ictl, ["login", "--server", "http://127.0.0.1:\(port)", "--token-stdin"], environment: env).status == 64)
        }
    }
}
