import CIncidentShims
import Foundation
import Logging
import PostgresLibpq

/// A private PostgreSQL cluster in a directory of its own: created with `initdb` on first use,
/// listening only on a Unix socket inside that directory (no TCP), stopped cleanly. Every
/// connection authenticates (`LocalCluster+Authentication.swift`).
///
/// PostgreSQL refuses to run as root; when this process is root, the server runs as the
/// `postgres` system user (through `runuser`) and the directory is handed to that user.
public struct LocalCluster: Sendable {
    /// The cluster's superuser role (`initdb -U`), whatever the operating-system user.
    public static let superuser = "postgres"
    /// The operating-system user the server runs as when this process is root.
    static let serverUser = "postgres"

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// The cluster's data directory; the socket lives here too.
    public let dataDirectory: String
    /// Extra server settings written into the cluster's configuration (e.g. `max_connections`).
    public let settings: [String: String]
    /// The socket's port number (it names the socket file; nothing listens on TCP).
    public let port: Int
    let binDirectory: String

    public init(dataDirectory: String, settings: [String: String] = [:], port: Int = 5432) throws {
        let path = URL(fileURLWithPath: dataDirectory).standardizedFileURL.path
        self.dataDirectory = path
        self.settings = settings
        self.port = port
        self.binDirectory = try Self.findBinDirectory()
        // Unix socket paths are limited to 107 bytes.
        let socketPath = "\(path)/.s.PGSQL.\(port)"
        guard socketPath.utf8.count < 108 else {
            throw Failure(description: "data directory path is too long for a Unix socket (\(socketPath.utf8.count) bytes, at most 107): \(path)")
        }
    }

    /// libpq connection string for `database` as `user` (by default the cluster's superuser).
    public func conninfo(database: String = "postgres", user: String = LocalCluster.superuser) -> String {
        "host='\(ConnectionString.quoted(dataDirectory))' port=\(port) user='\(ConnectionString.quoted(user))' dbname='\(ConnectionString.quoted(database))' connect_timeout=5"
    }

    public var isInitialized: Bool {
        FileManager.default.fileExists(atPath: dataDirectory + "/PG_VERSION")
    }

    /// Creates the cluster if needed and starts it unless it already runs; waits until it accepts
    /// connections. Its authentication is made what it must be first (a running server rereads it).
    public func start(logger: Logger) throws {
        if !isInitialized {
            try initialize(logger: logger)
        }
        let running = isRunning()
        try secureAuthentication(running: running, logger: logger)
        if running {
            logger.info("local PostgreSQL already running", metadata: ["db.data_dir": "\(dataDirectory)"])
            return
        }
        try runAsServerUser(
            binDirectory + "/pg_ctl",
            [
                "-D", dataDirectory, "-l", dataDirectory + "/postgresql.log", "-w", "-t", "60", "start",
            ], what: "start PostgreSQL")
        logger.info("local PostgreSQL started", metadata: ["db.data_dir": "\(dataDirectory)"])
    }

    /// Stops the server (fast mode: active sessions are ended, pending work is written).
    public func stop(logger: Logger) throws {
        guard isRunning() else { return }
        try runAsServerUser(binDirectory + "/pg_ctl", ["-D", dataDirectory, "-m", "fast", "-w", "-t", "60", "stop"], what: "stop PostgreSQL")
        logger.info("local PostgreSQL stopped", metadata: ["db.data_dir": "\(dataDirectory)"])
    }

    public func isRunning() -> Bool {
        guard isInitialized else { return false }
        return (try? runAsServerUser(binDirectory + "/pg_ctl", ["-D", dataDirectory, "status"], what: "status")) != nil
    }

    private func initialize(logger: Logger) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if Self.isRoot {
            try Self.run("/bin/chown", ["postgres:postgres", dataDirectory], what: "hand the data directory to the postgres user")
            try Self.run("/bin/chmod", ["0700", dataDirectory], what: "restrict the data directory")
            // The server user must be able to reach the directory through its parents.
            try Self.run(
                "/usr/sbin/runuser", ["-u", "postgres", "--", "test", "-x", dataDirectory],
                what: "check that the postgres user can reach \(dataDirectory) (every parent directory needs o+x)")
        }
        try runAsServerUser(
            binDirectory + "/initdb",
            [
                "-D", dataDirectory, "-U", Self.superuser, "-E", "UTF8", "--no-locale",
                // Replaced by start() with peer logins mapped to this process's user.
                "--auth-local=peer", "--auth-host=reject",
            ], what: "create the PostgreSQL cluster (initdb)")
        var conf = """

            # --- incident-log: private cluster, Unix socket in the data directory only ---
            listen_addresses = ''
            unix_socket_directories = '\(dataDirectory)'
            unix_socket_permissions = 0700
            port = \(port)
            timezone = 'UTC'

            """
        for (key, value) in settings.sorted(by: { $0.key < $1.key }) {
            conf += "\(key) = '\(value)'\n"
        }
        let confPath = dataDirectory + "/postgresql.conf"
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: confPath))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(conf.utf8))
        try handle.close()
        logger.info("local PostgreSQL cluster created", metadata: ["db.data_dir": "\(dataDirectory)"])
    }

    /// Path of one of PostgreSQL's programs (`pg_restore`, `pg_dump`) of the cluster's version.
    public func tool(_ name: String) -> String { binDirectory + "/" + name }

    /// Runs one of PostgreSQL's client programs (`pg_restore`, `psql`) as this process's user;
    /// a non-zero exit throws with what it printed.
    @discardableResult
    public func runClient(_ name: String, _ arguments: [String], what: String) throws -> String {
        try Self.run(tool(name), arguments, what: what)
    }

    /// Moves the stopped cluster's transaction counter past `highest` (a full 64-bit `xid8`) when
    /// it is not already: the counter's epoch (its upper 32 bits) goes to one above `highest`'s, by
    /// `pg_resetwal -e` on the cleanly shut down cluster. The 32-bit part, which every row and the
    /// commit log use, does not move, so nothing the cluster holds changes meaning and no
    /// wraparound limit comes near. Returns the counter before the move, nil when it was already
    /// beyond `highest`.
    ///
    /// Needed after restoring a dump into a new cluster: the log stores its writers' transaction
    /// ids (`events.transaction_id`), and readers go by them (docs/architecture.md, Concurrency rules). A new cluster counts
    /// from a few hundred, so without this, appends after the restore would sort before the
    /// restored events, behind the projections' checkpoints, and never be read.
    @discardableResult
    public func advanceTransactionIDs(past highest: UInt64, logger: Logger) throws -> UInt64? {
        guard !isRunning() else { throw Failure(description: "stop the cluster before moving its transaction counter") }
        let control = try runAsServerUser(binDirectory + "/pg_controldata", [dataDirectory], what: "read the cluster's control file")
        func field(_ name: String) -> String? {
            control.split(separator: "\n").first { $0.hasPrefix(name) }.map { $0.split(separator: ":", maxSplits: 1).last!.trimmingCharacters(in: .whitespaces) }
        }
        guard field("Database cluster state") == "shut down",
            let value = field("Latest checkpoint's NextXID"), let colon = value.firstIndex(of: ":"),
            let epoch = UInt64(value[..<colon]), let xid = UInt64(value[value.index(after: colon)...])
        else { throw Failure(description: "the cluster was not shut down cleanly, or its control file is unreadable: \(control.prefix(400))") }
        let current = epoch << 32 | xid
        guard current <= highest else { return nil }
        let newEpoch = (highest >> 32) + 1
        try runAsServerUser(
            binDirectory + "/pg_resetwal", ["-e", String(newEpoch), "-D", dataDirectory],
            what: "move the cluster's transaction counter (pg_resetwal -e)")
        logger.info("moved the cluster's transaction counter", metadata: ["db.xid.before": "\(current)", "db.xid.after": "\(newEpoch << 32 | xid)"])
        return current
    }

    // MARK: - Processes

    static var isRoot: Bool { geteuid() == 0 }

    @discardableResult
    func runAsServerUser(_ tool: String, _ arguments: [String], what: String) throws -> String {
        if Self.isRoot {
            return try Self.run("/usr/sbin/runuser", ["-u", Self.serverUser, "--", tool] + arguments, what: what)
        }
        return try Self.run(tool, arguments, what: what)
    }

    /// Runs a tool to completion; a non-zero exit throws with what it printed.
    ///
    /// Spawned with `posix_spawn`, every descriptor of ours closed in the child: `pg_ctl start`
    /// leaves a server running that would otherwise inherit them (a pipe it never closes, the
    /// daemon's listening socket). Foundation's `Process` waits for such inherited descriptors and
    /// never returns here.
    @discardableResult
    static func run(_ tool: String, _ arguments: [String], what: String) throws -> String {
        let outputPath = FileManager.default.temporaryDirectory.path + "/incident-tool-\(UUID().uuidString).log"
        let output = open(outputPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard output >= 0 else { throw Failure(description: "could not \(what): cannot create \(outputPath)") }
        defer {
            close(output)
            unlink(outputPath)
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, output, 1)
        posix_spawn_file_actions_adddup2(&actions, output, 2)
        incident_spawn_addclosefrom(&actions, 3)

        var environment = ProcessInfo.processInfo.environment
        environment["LC_ALL"] = "C"
        let argv = ([tool] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            argv.forEach { free($0) }
            envp.forEach { free($0) }
        }
        var pid = pid_t()
        let spawned = posix_spawn(&pid, tool, &actions, nil, argv, envp)
        guard spawned == 0 else {
            throw Failure(description: "could not \(what): cannot run \(tool): \(String(cString: strerror(spawned)))")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: outputPath, encoding: .utf8)) ?? ""
        let exited = (status & 0x7F) == 0
        let code = exited ? (status >> 8) & 0xFF : 128 + (status & 0x7F)
        guard code == 0 else {
            throw Failure(
                description: "could not \(what) (\(URL(fileURLWithPath: tool).lastPathComponent) exited \(code)): \(text.trimmingCharacters(in: .whitespacesAndNewlines))"
            )
        }
        return text
    }

    /// PostgreSQL's server binaries: `$PG_BINDIR`, else the newest `/usr/lib/postgresql/*/bin`, else `pg_config --bindir`.
    static func findBinDirectory() throws -> String {
        let fm = FileManager.default
        if let dir = ProcessInfo.processInfo.environment["PG_BINDIR"], fm.isExecutableFile(atPath: dir + "/initdb") {
            return dir
        }
        let root = "/usr/lib/postgresql"
        let versions = ((try? fm.contentsOfDirectory(atPath: root)) ?? [])
            .compactMap(Int.init)
            .sorted(by: >)
        for version in versions where fm.isExecutableFile(atPath: "\(root)/\(version)/bin/initdb") {
            return "\(root)/\(version)/bin"
        }
        if let dir = try? run("/usr/bin/env", ["pg_config", "--bindir"], what: "find PostgreSQL").trimmingCharacters(in: .whitespacesAndNewlines),
            fm.isExecutableFile(atPath: dir + "/initdb")
        {
            return dir
        }
        throw Failure(
            description:
                "PostgreSQL server binaries not found (looked in $PG_BINDIR, /usr/lib/postgresql/*/bin, pg_config --bindir); install them with: apt-get install -y postgresql"
        )
    }
}
