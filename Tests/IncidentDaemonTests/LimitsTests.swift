import Foundation
import HTTPTypes
import HummingbirdTesting
import IncidentStore
import IncidentTesting
import Logging
import PostgresLibpq
import Testing

@testable import IncidentDaemon

/// One request with curl, from a source address of its choosing (`--interface 127.0.0.2`: the
/// loopback network is all of 127.0.0.0/8). Returns the status and the body.
/// A request of its own connection (the live test client has one connection, which serializes requests).
func curl(
    _ url: String, token: String?, from source: String = "127.0.0.1", method: String = "GET", body: (Data, String)? = nil, maxTime: Int = 20
) async throws -> (status: Int, body: String) {
    var arguments = ["-s", "--interface", source, "--max-time", String(maxTime), "-X", method, "-w", "\n%{http_code}", url]
    if let token { arguments += ["-H", "Authorization: Bearer \(token)"] }
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("curl-body-\(UUID().uuidString)")
    defer { try? FileManager.default.removeItem(at: file) }
    if let (data, type) = body {
        try data.write(to: file)
        arguments += ["-H", "Content-Type: \(type)", "--data-binary", "@" + file.path]
    }
    let result = try await run("/usr/bin/curl", arguments, environment: [:])
    let lines = result.stdout.split(separator: "\n", omittingEmptySubsequences: false)
    return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
}

/// `curl -N` following the event stream in the background, its output in a file.
final class StreamFollower: @unchecked Sendable {
    let process = Process()
    let output = FileManager.default.temporaryDirectory.appendingPathComponent("stream-\(UUID().uuidString)")

    init(port: Int, token: String, maxTime: Int = 30) throws {
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "-N", "--max-time", String(maxTime), "-H", "Authorization: Bearer \(token)", "http://127.0.0.1:\(port)/v1/events/stream"]
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var text: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }

    /// Waits (up to 10 s) for the stream's first line: the server has taken it.
    func opened() async throws -> Bool {
        for _ in 0..<200 {
            if text.contains(": incident log stream") { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// Waits (up to 30 s) until every one of `needles` has arrived; the text received so far.
    func received(_ needles: [String]) async throws -> String {
        for _ in 0..<600 {
            let text = self.text
            if needles.allSatisfy(text.contains) { return text }
            try await Task.sleep(for: .milliseconds(50))
        }
        return text
    }

    /// Waits up to `timeout` for curl to end; its status (0: the server ended the stream), nil if still running.
    func ended(within timeout: Duration) async throws -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// Kills curl (SIGKILL: the test process ignores SIGTERM for its service group, and children inherit that).
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: output)
    }
}

/// A session of the test's own holding a lock, so that the daemon's statements wait on it.
final class LockHolder: @unchecked Sendable {
    let connection: PostgresConnection

    /// Opens a transaction on `conninfo` and takes `lock` (e.g. `LOCK TABLE incidents IN ACCESS EXCLUSIVE MODE`).
    static func take(_ lock: String, conninfo: String) async throws -> LockHolder {
        try await onThread {
            let holder = LockHolder(connection: try PostgresConnection(conninfo: conninfo))
            try holder.connection.execute("BEGIN")
            try holder.connection.execute(lock)
            return holder
        }
    }

    private init(connection: PostgresConnection) { self.connection = connection }

    func release() async throws {
        try await onThread { [connection] in
            try connection.execute("ROLLBACK")
            connection.close()
        }
    }
}

/// Sessions waiting for a lock on `table`.
func lockWaiters(on table: String, _ pool: ConnectionPool) async throws -> Int {
    try await pool.withConnection { connection in
        try connection.query("""
            SELECT count(*)::int FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE c.relname = $1 AND NOT l.granted
            """, [table]).first!.decode(0)
    }
}

@Suite("Authentication and limits (docs/operations.md, Limits)")
struct LimitsTests {
    @Test("after 20 failed authentications in a minute an address gets 429 with Retry-After; another address is served")
    func failedAuthentications() async throws {
        try await API.run { api in
            let port = try #require(api.client.port)
            for attempt in 1...20 {
                let reply = try await api.call(.get, "/v1/taxonomy", token: "il_guess\(attempt)")
                #expect(reply.status == 401, "failure \(attempt) is still a 401")
            }
            // The 21st request from this address is refused, even with a valid token.
            let refused = try await api.call(.get, "/v1/taxonomy", token: api.admin)
            #expect(refused.status == 429 && refused.errorCode == "too_many_requests")
            let retryAfter = Int(refused.headers[.retryAfter] ?? "")
            #expect(retryAfter.map { (1...60).contains($0) } == true, "Retry-After: \(refused.headers[.retryAfter] ?? "none")")
            #expect(try await api.call(.get, "/v1/taxonomy", token: nil).status == 429, "every request from the address, token or not")

            // Another address of this machine is not limited: its valid token works.
            let other = try await curl("http://127.0.0.1:\(port)/v1/taxonomy", token: api.analyst, from: "127.0.0.2")
            #expect(other.status == 200, "\(other.body)")
            // (That a refused address is not looked up at all: LimitsCLITests.serveFlags, on a cluster of its own.)
        }
    }

    @Test("a stream whose token is revoked, or expires, ends within 5 s")
    func streamRecheck() async throws {
        try await API.run { api in
            let port = try #require(api.client.port)
            let tokens = AccessTokens(pool: api.db.pool)
            let watcher = try await tokens.create(name: "watcher", role: .analyst)
            let expiring = try await tokens.create(name: "expiring", role: .reviewer, expiresAt: Date().addingTimeInterval(8))
            let revokedStream = try StreamFollower(port: port, token: watcher)
            let expiringStream = try StreamFollower(port: port, token: expiring)
            defer {
                revokedStream.stop()
                expiringStream.stop()
            }
            let revokedOpened = try await revokedStream.opened()
            let expiringOpened = try await expiringStream.opened()
            #expect(revokedOpened && expiringOpened)
            #expect(try await api.call(.delete, "/v1/admin/tokens/watcher", token: api.admin).status == 200)
            // curl's own limit is 30 s: a stream that goes on is still running after 10 (or, for
            // the token that expires 8 s after it was made, after 20: its stream must open first,
            // on a machine that may be busy).
            #expect(try await revokedStream.ended(within: .seconds(10)) == 0, "the revoked token's stream ended (the server closed it)")
            #expect(try await expiringStream.ended(within: .seconds(20)) == 0, "the expired token's stream ended")
        }
    }

    @Test("a token has at most four open streams; the fifth gets 429")
    func streamsPerToken() async throws {
        try await API.run { api in
            let port = try #require(api.client.port)
            var streams: [StreamFollower] = []
            defer { for stream in streams { stream.stop() } }
            for _ in 0..<4 { streams.append(try StreamFollower(port: port, token: api.analyst)) }
            for stream in streams { #expect(try await stream.opened()) }
            let fifth = try await curl("http://127.0.0.1:\(port)/v1/events/stream", token: api.analyst, maxTime: 5)
            #expect(fifth.status == 429 && fifth.body.contains("too_many_requests"), "\(fifth.status) \(fifth.body)")
            // Another token's stream is not counted against this one.
            let other = try StreamFollower(port: port, token: api.reviewer)
            streams.append(other)
            #expect(try await other.opened())
            // A stream that its client closes gives its slot back.
            streams[0].stop()
            let closedAt = ContinuousClock.now
            var again = (status: 0, body: "")
            while ContinuousClock.now - closedAt < .seconds(20) {
                again = try await curl("http://127.0.0.1:\(port)/v1/events/stream", token: api.analyst, maxTime: 2)
                if again.status == 200 { break }
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(again.status == 200, "a slot came free after a client left: \(again.status)")
            print("limits figures: a closed stream's slot came free after \(ContinuousClock.now - closedAt)")
        }
    }

    @Test("q is at most 200 characters")
    func longSearch() async throws {
        try await API.run { api in
            let long = try await api.call(.get, "/v1/incidents?q=" + String(repeating: "a", count: 201), token: api.analyst)
            #expect(long.status == 400 && long.errorCode == "bad_filter")
            #expect(long.json?.encodedString.contains("\"field\":\"q\"") == true)
            #expect(try await api.call(.get, "/v1/incidents?q=" + String(repeating: "a", count: 200), token: api.analyst).status == 200)
        }
    }

    @Test("at most two batch imports run at once; a third gets 429 with Retry-After")
    func concurrentBatches() async throws {
        try await API.run { api in
            // Inserts into the log wait for this lock: the two batches stay running.
            let holder = try await LockHolder.take("LOCK TABLE events IN SHARE ROW EXCLUSIVE MODE", conninfo: api.db.conninfo)
            let port = try #require(api.client.port)
            @Sendable func line(_ summary: String) -> Data { Data((report(["summary": .string(summary)]).encodedString + "\n").utf8) }
            @Sendable func batch(_ summary: String) async throws -> API.Reply {
                try await api.call(.post, "/v1/incidents:batch", token: api.reporter, raw: line(summary), headers: [.contentType: "application/x-ndjson"])
            }
            // Each on a connection of its own, so that they run at once.
            let url = "http://127.0.0.1:\(port)/v1/incidents:batch"
            let (firstLine, secondLine) = (line("First batch."), line("Second batch."))
            async let first = curl(url, token: api.reporter, method: "POST", body: (firstLine, "application/x-ndjson"))
            async let second = curl(url, token: api.reporter, method: "POST", body: (secondLine, "application/x-ndjson"))
            var waiting = 0
            for _ in 0..<200 where waiting < 2 {
                waiting = try await lockWaiters(on: "events", api.db.pool)
                try await Task.sleep(for: .milliseconds(50))
            }
            #expect(waiting == 2, "both batches wait for the log")
            let third = try await batch("Third batch.")
            #expect(third.status == 429 && third.errorCode == "too_many_requests")
            #expect(third.headers[.retryAfter] != nil)
            try await holder.release()
            let answers = try await [first, second]
            #expect(answers.allSatisfy { $0.status == 200 && $0.body.contains("\"accepted\":1") }, "\(answers)")
            #expect(try await batch("Fourth batch, after them.").status == 200, "the slots were given back")
        }
    }

    @Test("tokens made by the API expire in 90 days unless never is said")
    func apiTokenExpiry() async throws {
        try await API.run { api in
            let made = try await api.call(.post, "/v1/admin/tokens", token: api.admin, json: ["name": "ninety", "role": "analyst"])
            #expect(made.status == 201)
            let expiresAt = try #require(made["expires_at"]?.stringValue.flatMap { try? Date($0, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) })
            #expect(abs(expiresAt.timeIntervalSinceNow - 90 * 86_400) < 3600, "expires_at \(expiresAt)")
            let never = try await api.call(.post, "/v1/admin/tokens", token: api.admin, json: ["name": "forever", "role": "metrics", "expires": "never"])
            #expect(never.status == 201 && never["expires_at"] == .null && never["role"] == "metrics")
            #expect(try await api.call(.post, "/v1/admin/tokens", token: api.admin, json: ["name": "typo", "role": "analyst", "expires": "nevr"]).status == 422)
        }
    }

    @Test("/metrics is open on loopback; elsewhere it takes an admin or a metrics token")
    func metricsAccess() async throws {
        try await API.run { api in
            let open = try await api.call(.get, "/metrics", token: nil)
            #expect(open.status == 200, "loopback: open")
        }
        // Every interface, so not loopback: the test still reaches it on 127.0.0.1.
        try await API.run(host: "0.0.0.0") { api in
            let scraper = try await AccessTokens(pool: api.db.pool).create(name: "prometheus", role: .metrics)
            #expect(try await api.call(.get, "/metrics", token: nil).status == 401)
            #expect(try await api.call(.get, "/metrics", token: api.analyst).status == 403)
            #expect(try await api.call(.get, "/metrics", token: scraper).status == 200)
            #expect(try await api.call(.get, "/metrics", token: api.admin).status == 200)
            #expect(try await api.call(.get, "/v1/taxonomy", token: scraper).status == 403, "a metrics token reads /metrics only")
        }
    }
}

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
        try await onThread { try cluster.start(logger: logger) }
        let pool = ConnectionPool(configuration: .init(conninfo: cluster.conninfo(), maxConnections: 2))
        defer { Task { await pool.close() } }
        try await Migrator().migrate(pool, logger: logger)
        let tokens = AccessTokens(pool: pool)
        let analyst = try await tokens.create(name: "flags-analyst", role: .analyst)
        let reporter = try await tokens.create(name: "flags-reporter", role: .reporter)
        let port = Int.random(in: 20_000...32_000)
        let log = root + "/daemon.log"
        let daemon = try Daemon(conninfo: cluster.conninfo(), port: port, arguments: ["--statement-timeout", "500ms", "--auth-failure-limit", "3"], log: log)
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
        let daemonLog = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
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
            let port = Int.random(in: 20_000...32_000)
            let daemon = try Daemon(conninfo: db.conninfo, port: port)
            defer { daemon.stop() }
            try await daemon.ready()
            let home = FileManager.default.temporaryDirectory.appendingPathComponent("ictl-stdin-\(UUID().uuidString)").path
            defer { try? FileManager.default.removeItem(atPath: home) }
            // An empty ICTL_TOKEN counts as none: the token can only come from stdin, then from the saved config.
            let env = ["HOME": home, "XDG_CONFIG_HOME": home + "/config", "XDG_DATA_HOME": home + "/data", "ICTL_TOKEN": "", "ICTL_SERVER": ""]
            let login = try await onThread { () throws -> Run in
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
