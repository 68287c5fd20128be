import Foundation
import IncidentTesting
import PostgresLibpq
import Testing

/// A real Patroni cluster on loopback, started once for this test process by
/// `scripts/patroni-cluster` (one etcd, two PostgreSQL nodes, `synchronous_mode: true`) and
/// stopped when the process exits.
actor PatroniCluster {
    static let shared = PatroniCluster()

    struct Running: Sendable {
        let directory: String
        let port: Int

        /// node1's and node2's PostgreSQL ports.
        var nodePorts: [String: Int] { ["node1": port + 2, "node2": port + 4] }

        /// Both nodes, reaching whichever is the primary.
        func primaryConninfo(database: String) -> String {
            "host=127.0.0.1,127.0.0.1 port=\(port + 2),\(port + 4) user=postgres dbname=\(database) target_session_attrs=read-write connect_timeout=2"
        }

        /// One node alone.
        func nodeConninfo(_ node: String, database: String) -> String {
            "host=127.0.0.1 port=\(nodePorts[node]!) user=postgres dbname=\(database) connect_timeout=2"
        }

        /// Runs `scripts/patroni-cluster COMMAND DIR ARGUMENTS…` and returns what it printed.
        @discardableResult
        func script(_ command: String, _ arguments: String...) async throws -> String {
            let result = try await run(PatroniCluster.script, [command, directory] + arguments, environment: [:], timeout: .seconds(180))
            guard result.status == 0 else { throw ClusterFailure(message: "patroni-cluster \(command): \(result.stderr)") }
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        func leader() async throws -> String { try await script("leader") }

        func standby() async throws -> String { try await leader() == "node1" ? "node2" : "node1" }

        /// A new database on the cluster, and a pool on it that follows the primary.
        func database() async throws -> (name: String, conninfo: String, pool: ConnectionPool) {
            let name = "ha_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(16)
            let admin = ConnectionPool(configuration: .init(conninfo: primaryConninfo(database: "postgres"), maxConnections: 1))
            try await admin.withConnection { try $0.execute("CREATE DATABASE \(name)") }
            await admin.close()
            let conninfo = primaryConninfo(database: String(name))
            return (String(name), conninfo, ConnectionPool(configuration: .init(conninfo: conninfo, maxConnections: 4)))
        }
    }

    struct ClusterFailure: Error, CustomStringConvertible { var message: String; var description: String { message } }

    static var script: String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/patroni-cluster").path
    }

    private var running: Running?

    /// The cluster, started when this is the first test to ask, with a leader and a streaming
    /// synchronous standby.
    /// - Throws: when Patroni or etcd is not installed (`scripts/test` installs them) or the cluster does not come up.
    func start() async throws -> Running {
        if let running {
            try await running.script("wait-sync", "120")
            return running
        }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/patroni"), FileManager.default.isExecutableFile(atPath: "/usr/bin/etcd") else {
            throw ClusterFailure(message: "the failover tests need Debian's patroni and etcd-server (scripts/test installs them)")
        }
        let directory = FileManager.default.temporaryDirectory.path + "/incident-patroni-\(getpid())"
        let port = TestPorts.free(count: 6)
        let started = Running(directory: directory, port: port)
        stopAtExit(directory)
        let clock = ContinuousClock.now
        _ = try await run(Self.script, ["start", directory, String(port)], environment: [:], timeout: .seconds(240)).checked()
        print("patroni cluster: etcd and two PostgreSQL nodes up, synchronous standby streaming, in \(ContinuousClock.now - clock)")
        running = started
        return started
    }
}

extension Run {
    func checked() throws -> Run {
        guard status == 0 else { throw PatroniCluster.ClusterFailure(message: "status \(status): \(stderr)") }
        return self
    }
}

nonisolated(unsafe) private var clusterDirectory: String?

private func stopAtExit(_ directory: String) {
    clusterDirectory = directory
    atexit {
        guard let directory = clusterDirectory else { return }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: PatroniCluster.script)
        process.arguments = ["stop", directory]
        try? process.run()
        process.waitUntilExit()
    }
}
