import Foundation
import IncidentStore
import IncidentTesting
import Logging
import PostgresLibpq
import Testing

/// docs/operations.md, Database roles: the daemon's runtime sessions cannot become more than `incident_app`, and the
/// embedded cluster trusts no local connection.
@Suite("Least privilege in the database (subprocesses)")
struct LeastPrivilegeTests {
    @Test("embedded: pg_hba.conf trusts nothing, incident_database_privileged 0, a runtime session cannot become more than incident_app, the owner's tools still log in")
    func embedded() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = scratch.path + "/data"
        let port = TestPorts.free()
        let daemon = try Daemon(conninfo: nil, port: port, arguments: ["--data-dir", data])
        defer { daemon.stop() }
        try await daemon.ready()
        let cluster = try LocalCluster(dataDirectory: data + "/postgres")

        #expect(try trustLines(cluster) == [])
        #expect(await daemon.metric("incident_database_privileged") == 0)
        let runtime = cluster.conninfo(database: "incident_log", user: DatabaseRoles.runtime)
        try await expectConfined(runtime, owner: LocalCluster.superuser)

        // The owner logs in by peer, as this process's user: psql and pg_dump work as before.
        let owner = cluster.conninfo(database: "incident_log")
        let tables = try await onOwnThread {
            try cluster.runClient("psql", ["-X", "-At", "--dbname", owner, "-c", "SELECT count(*) FROM pg_tables WHERE tablename = 'events'"], what: "psql")
        }
        #expect(tables.trimmingCharacters(in: .whitespacesAndNewlines) == "1")
        _ = try await onOwnThread { try cluster.runClient("pg_dump", ["--format=custom", "--file", scratch.path + "/dump", "--dbname", owner], what: "pg_dump") }
        #expect(FileManager.default.fileExists(atPath: scratch.path + "/dump"))
        // A login role without a password has no way in: peer is for the two roles of pg_ident.conf.
        let stranger = "t_stranger_" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let admin = ConnectionPool(configuration: .init(conninfo: owner, maxConnections: 1))
        try await admin.withConnection { try $0.execute("CREATE ROLE \(stranger) LOGIN") }
        let refused = try await connectionFailure(cluster.conninfo(database: "incident_log", user: stranger))
        try await admin.withConnection { try $0.execute("DROP ROLE \(stranger)") }
        await admin.close()
        #expect(refused != nil, "a role without a password cannot log in")
    }

    @Test("a data directory that trusted local connections (an earlier release) is upgraded at start, stopped or running, and keeps working across restarts")
    func upgradeFromTrust() async throws {
        let scratch = try Scratch()
        defer { scratch.remove() }
        let data = scratch.path + "/data"
        let logger = Logger(label: "least-privilege-test")
        let made = try await run(Binaries.incidentd, ["migrate", "--data-dir", data], environment: [:], timeout: .seconds(120))
        #expect(made.status == 0, "\(made.stderr)")
        let cluster = try LocalCluster(dataDirectory: data + "/postgres")
        defer { try? cluster.stop(logger: logger) }

        // Stopped: the files say what the earlier release's initdb wrote; serve rewrites them first.
        try writeEarlierAuthentication(cluster)
        #expect(try trustLines(cluster) != [])
        var port = TestPorts.free()
        var daemon = try Daemon(conninfo: nil, port: port, arguments: ["--data-dir", data])
        defer { if daemon.process.isRunning { daemon.stop() } }
        try await daemon.ready()
        #expect(try trustLines(cluster) == [])
        #expect(await daemon.metric("incident_database_privileged") == 0)
        try await expectConfined(cluster.conninfo(database: "incident_log", user: DatabaseRoles.runtime), owner: LocalCluster.superuser)
        daemon.stop()

        // Running with trust: a role without a password gets in, until a start rewrites the files
        // and the server rereads them.
        try await onOwnThread { try cluster.start(logger: logger) }
        let stranger = "t_stranger_" + String(UInt32.random(in: 0...UInt32.max), radix: 16)
        let admin = ConnectionPool(configuration: .init(conninfo: cluster.conninfo(), maxConnections: 1))
        try await admin.withConnection { try $0.execute("CREATE ROLE \(stranger) LOGIN") }
        try writeEarlierAuthentication(cluster)
        try await admin.withConnection { _ = try $0.query("SELECT pg_reload_conf()") }
        let strangerConninfo = cluster.conninfo(database: "incident_log", user: stranger)
        let trusted = try await eventually { try await connectionFailure(strangerConninfo) == nil }
        #expect(trusted, "trusted while the earlier files are loaded")
        let upgraded = try await run(Binaries.incidentd, ["migrate", "--data-dir", data], environment: [:], timeout: .seconds(120))
        #expect(upgraded.status == 0, "\(upgraded.stderr)")
        #expect(try trustLines(cluster) == [])
        let refused = try await eventually { try await connectionFailure(strangerConninfo) != nil }
        #expect(refused, "the running server reread its authentication")
        try await admin.withConnection { try $0.execute("DROP ROLE \(stranger)") }
        await admin.close()
        try await onOwnThread { try cluster.stop(logger: logger) }

        // And again across restarts.
        for _ in 0..<2 {
            port = TestPorts.free()
            daemon = try Daemon(conninfo: nil, port: port, arguments: ["--data-dir", data])
            try await daemon.ready()
            #expect(await daemon.metric("incident_database_privileged") == 0)
            daemon.stop()
            #expect(try trustLines(cluster) == [])
        }
    }

    @Test("one URL of a superuser: serve works as today, warns, and shows incident_database_privileged 1")
    func oneSuperuserURL() async throws {
        try await TestDatabase.with { db in
            let port = TestPorts.free()
            let daemon = try Daemon(conninfo: db.conninfo, port: port)
            defer { daemon.stop() }
            try await daemon.ready()
            #expect(await daemon.metric("incident_database_privileged") == 1)
            let text = daemon.logged
            #expect(text.contains("can do more than incident_app") && text.contains("superuser"), "\(text)")
        }
    }

    @Test(
        "external: --migration-database-url migrates as the owner, --database-url serves as the runtime role (privileged 0), which alone serves once migrations are current"
    )
    func externalOwnerAndRuntime() async throws {
        let server = try await TestServer.shared.start()
        let suffix = String(UInt64.random(in: 0...UInt64.max), radix: 16)
        let (owner, runtime, name) = ("t_owner_" + suffix, "t_runtime_" + suffix, "t_lp_" + suffix)
        let (ownerPassword, runtimePassword) = (UUID().uuidString, UUID().uuidString)
        let admin = ConnectionPool(configuration: .init(conninfo: server.baseConninfo, maxConnections: 1))
        // Names and passwords reach the DDL through format(), as parameters.
        func ddl(_ template: String, _ first: String, _ second: String? = nil) async throws {
            try await admin.withConnection { connection in
                let statement: String = try connection.query("SELECT format($1, $2::text, $3::text)", [template, first, second]).first!.decode(0)
                try connection.execute(statement)
            }
        }
        try await ddl("CREATE ROLE %I LOGIN CREATEROLE PASSWORD %L", owner, ownerPassword)
        try await ddl("CREATE ROLE %I LOGIN NOINHERIT PASSWORD %L", runtime, runtimePassword)
        try await ddl("CREATE DATABASE %I OWNER %I", name, owner)
        let ownerURL = try conninfo(server.baseConninfo, database: name, user: owner, password: ownerPassword)
        let runtimeURL = try conninfo(server.baseConninfo, database: name, user: runtime, password: runtimePassword)
        do {
            // Nothing migrated, and the runtime role may not migrate: refused with what to do.
            let unmigrated = try await run(
                Binaries.incidentd, ["serve", "--port", "1", "--database-url", runtimeURL, "--master-key-file", TestKeys.file], environment: [:], timeout: .seconds(60))
            #expect(unmigrated.status != 0 && unmigrated.stderr.contains("--migration-database-url"), "\(unmigrated.status) \(unmigrated.stderr)")

            let migrated = try await run(Binaries.incidentd, ["migrate", "--migration-database-url", ownerURL], environment: [:], timeout: .seconds(120))
            #expect(migrated.status == 0, "\(migrated.stderr)")
            // What docs/operations.md has the operator do once incident_app exists.
            try await ddl("GRANT incident_app TO %I", runtime)

            let port = TestPorts.free()
            let daemon = try Daemon(conninfo: runtimeURL, port: port, arguments: ["--migration-database-url", ownerURL])
            try await daemon.ready()
            #expect(await daemon.metric("incident_database_privileged") == 0)
            try await expectConfined(runtimeURL, owner: owner)
            // One-shot commands with the runtime role alone work as incident_app.
            let token = try await run(
                Binaries.incidentd, ["token", "create", "--name", "ops", "--role", "admin", "--database-url", runtimeURL], environment: [:], timeout: .seconds(60))
            #expect(token.status == 0, "\(token.stderr)")
            let secret = token.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            #expect(await get(port, "/v1/taxonomy", token: secret).status == 200)
            daemon.stop()
            try await Self.servesAlone(runtimeURL, token: secret)
        } catch {
            await dropAll()
            throw error
        }
        await dropAll()

        func dropAll() async {
            try? await ddl("DROP DATABASE IF EXISTS %I WITH (FORCE)", name)
            try? await ddl("DROP ROLE IF EXISTS %I", runtime)
            try? await ddl("DROP ROLE IF EXISTS %I", owner)
            await admin.close()
        }
    }

    /// The runtime role alone, migrations current: serves, unprivileged.
    private static func servesAlone(_ runtimeURL: String, token: String) async throws {
        let port = TestPorts.free()
        let daemon = try Daemon(conninfo: runtimeURL, port: port)
        defer { daemon.stop() }
        try await daemon.ready()
        #expect(await daemon.metric("incident_database_privileged") == 0)
        #expect(await get(port, "/v1/taxonomy", token: token).status == 200)
    }
}

/// Logs in as the daemon's serving connections do (`conninfo`, then ``DatabaseRoles/sessionSetup``)
/// and checks that the session, as `incident_app` and after `RESET ROLE`, can change no event, read
/// no key, create nothing and become no other role.
private func expectConfined(_ conninfo: String, owner: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
    let denied = [
        "UPDATE events SET type = 'x'",
        "SELECT * FROM incident_keys",
        "SELECT wrapped_key FROM incident_keys",
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1'",
        "CREATE TABLE t (x int)",
        "CREATE TEMPORARY TABLE t (x int)",
        "CREATE FUNCTION pg_temp.f() RETURNS int LANGUAGE sql AS 'select 1'",
        "SET ROLE \(owner)",
    ]
    let pool = ConnectionPool(configuration: .init(conninfo: conninfo, maxConnections: 1, setupStatements: DatabaseRoles.sessionSetup))
    let session: Session
    do {
        session = try await pool.withConnection { connection in
            let asApp: String = try connection.query("SELECT current_user::text").first!.decode(0)
            let appUpdate = outcome(of: "UPDATE events SET type = 'x'", on: connection)
            try connection.execute("RESET ROLE")
            let reset: String = try connection.query("SELECT current_user::text").first!.decode(0)
            var outcomes: [String: String] = [:]
            for statement in denied { outcomes[statement] = outcome(of: statement, on: connection) }
            // Whatever the tables are called (the keys' may change): none is open to the session.
            let open: [String] = try connection.query(
                """
                SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm')
                  AND (has_table_privilege(c.oid, 'SELECT') OR has_table_privilege(c.oid, 'INSERT') OR has_table_privilege(c.oid, 'UPDATE')
                       OR has_table_privilege(c.oid, 'DELETE') OR has_table_privilege(c.oid, 'TRUNCATE'))
                """
            ).rows.map { try $0.decode(0) }
            return Session(
                asApp: asApp, appUpdate: appUpdate, reset: reset, outcomes: outcomes, openTables: open,
                standing: try DatabaseRoles.standing(on: connection))
        }
    } catch {
        await pool.close()
        throw error
    }
    await pool.close()
    #expect(session.asApp == DatabaseRoles.app, sourceLocation: sourceLocation)
    // 42501: insufficient privilege.
    #expect(session.appUpdate == "42501", "as incident_app: UPDATE events -> \(session.appUpdate)", sourceLocation: sourceLocation)
    #expect(session.reset != DatabaseRoles.app && session.reset != owner, sourceLocation: sourceLocation)
    for statement in denied {
        #expect(session.outcomes[statement] == "42501", "after RESET ROLE: \(statement) -> \(session.outcomes[statement] ?? "-")", sourceLocation: sourceLocation)
    }
    #expect(session.openTables == [], "tables open to the session after RESET ROLE", sourceLocation: sourceLocation)
    #expect(session.standing.isAppMember && !session.standing.isPrivileged, "\(session.standing)", sourceLocation: sourceLocation)
}

/// What a runtime session could do, seen from inside it.
private struct Session: Sendable {
    var asApp: String
    var appUpdate: String
    var reset: String
    var outcomes: [String: String]
    var openTables: [String]
    var standing: DatabaseRoles.Standing
}

/// "ok", or the SQLSTATE the statement failed with.
private func outcome(of statement: String, on connection: PostgresConnection) -> String {
    do {
        try connection.execute(statement)
        return "ok"
    } catch let error as DatabaseError {
        return error.sqlState ?? "no SQLSTATE"
    } catch {
        return "\(error)"
    }
}

/// The lines of the cluster's `pg_hba.conf` (comments left out) whose method is `trust`.
private func trustLines(_ cluster: LocalCluster) throws -> [String] {
    try String(contentsOfFile: cluster.dataDirectory + "/pg_hba.conf", encoding: .utf8)
        .split(separator: "\n")
        .map { $0.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? "" }
        .filter { $0.split(whereSeparator: { $0 == " " || $0 == "\t" }).contains { $0.lowercased() == "trust" } }
}

/// What `initdb --auth-local=trust --auth-host=reject` (an earlier release) left in the data
/// directory. Written in place, so the files keep the server's ownership.
private func writeEarlierAuthentication(_ cluster: LocalCluster) throws {
    try """
    # TYPE  DATABASE        USER            ADDRESS                 METHOD
    local   all             all                                     trust
    host    all             all             127.0.0.1/32            reject
    host    all             all             ::1/128                 reject
    local   replication     all                                     trust
    host    replication     all             127.0.0.1/32            reject
    host    replication     all             ::1/128                 reject

    """.write(toFile: cluster.dataDirectory + "/pg_hba.conf", atomically: false, encoding: .utf8)
    try "# MAPNAME       SYSTEM-USERNAME         PG-USERNAME\n".write(toFile: cluster.dataDirectory + "/pg_ident.conf", atomically: false, encoding: .utf8)
}

/// Why a connection with `conninfo` could not be made; nil when it was.
private func connectionFailure(_ conninfo: String) async throws -> DatabaseError? {
    try await onOwnThread {
        do {
            let connection = try PostgresConnection(conninfo: conninfo)
            connection.close()
            return nil
        } catch let error as DatabaseError {
            return error
        }
    }
}

/// True as soon as `condition` holds, false after 5 s without.
private func eventually(_ condition: () async throws -> Bool) async throws -> Bool {
    for _ in 0..<100 {
        if try await condition() { return true }
        try await Task.sleep(for: .milliseconds(50))
    }
    return false
}

/// `base` (the test server) as `user` with `password` on `database`.
private func conninfo(_ base: String, database: String, user: String, password: String) throws -> String {
    var pairs = try ConnectionString.parse(base).filter { !["dbname", "user", "password"].contains($0.key) }
    pairs += [("dbname", database), ("user", user), ("password", password)]
    return pairs.map { "\($0.key)='\(ConnectionString.quoted($0.value))'" }.joined(separator: " ")
}

/// A directory of the test's own (reachable by the server's user), removed by `remove()`.
private struct Scratch {
    let path = FileManager.default.temporaryDirectory.path + "/incident-lp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"

    init() throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
