import Foundation
import IncidentStore
import Logging
import PostgresLibpq

/// The PostgreSQL server of this test process, started once.
public actor TestServer {
    public static let shared = TestServer()

    public struct Running: Sendable {
        /// Connection info of the server's maintenance database.
        public let baseConninfo: String
        let admin: ConnectionPool
    }

    private var running: Running?
    private var starting: Task<Running, any Error>?

    public func start() async throws -> Running {
        if let running { return running }
        if let starting { return try await starting.value }
        let task = Task<Running, any Error> {
            let base: String
            if let url = ProcessInfo.processInfo.environment["INCIDENT_TEST_DATABASE_URL"], !url.isEmpty {
                base = url
            } else {
                base = try await Self.startPrivateCluster()
            }
            return Running(baseConninfo: base, admin: ConnectionPool(configuration: .init(conninfo: base, maxConnections: 2)))
        }
        starting = task
        let value = try await task.value
        running = value
        return value
    }

    /// Starts a throwaway cluster (durability off: it is deleted at exit) on a background thread.
    private static func startPrivateCluster() async throws -> String {
        try await onOwnThread {
            let root = FileManager.default.temporaryDirectory.path + "/incident-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
            let cluster = try LocalCluster(
                dataDirectory: root + "/pg",
                settings: [
                    "max_connections": "500", "fsync": "off", "synchronous_commit": "off",
                    "full_page_writes": "off", "shared_buffers": "128MB",
                ])
            try cluster.start(logger: Logger(label: "test.cluster"))
            stopAtExit(dataDirectory: cluster.dataDirectory, root: root)
            return cluster.conninfo()
        }
    }
}

nonisolated(unsafe) private var clusterToStop: (dataDirectory: String, root: String)?

/// Stops the private cluster when the test process exits: a fast shutdown (SIGINT) to the
/// postmaster, a short wait, then the directory is removed.
private func stopAtExit(dataDirectory: String, root: String) {
    clusterToStop = (dataDirectory, root)
    atexit {
        guard let cluster = clusterToStop,
            let pidFile = try? String(contentsOfFile: cluster.dataDirectory + "/postmaster.pid", encoding: .utf8),
            let pid = pidFile.split(separator: "\n").first.flatMap({ Int32($0) })
        else { return }
        kill(pid, SIGINT)
        for _ in 0..<100 where kill(pid, 0) == 0 { usleep(50_000) }
        try? FileManager.default.removeItem(atPath: cluster.root)
    }
}
