import Logging
import Metrics
import PostgresLibpq
import ServiceLifecycle

/// Measures the hot standby's lag four times a second (``ReadRouting/measure()``), which decides
/// whether reads use it, and shows it on /metrics: `incident_replica_lag_seconds`,
/// `incident_replica_in_use` (1 while reads go to the standby) and `incident_reads_total` by
/// `server` (primary or replica). Each switch between the two is logged.
struct ReplicaMonitor: Service {
    let reads: ReadRouting
    let logger: Logger
    var interval: Duration = .milliseconds(250)

    func run() async throws {
        let lagGauge = Gauge(label: "incident_replica_lag_seconds")
        let inUse = Gauge(label: "incident_replica_in_use")
        let servers: [ReadRouting.Server] = [.primary, .replica]
        let counters = servers.map { Counter(label: "incident_reads_total", dimensions: [("server", $0.rawValue)]) }
        var counted = [Int](repeating: 0, count: servers.count)
        var wasUsed: Bool?
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            let answered = await reads.measure() != nil
            let lag = reads.lag.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 }
            if let lag { lagGauge.record(lag) }
            let used = reads.usesReplica
            inUse.record(used ? 1 : 0)
            if used != wasUsed {
                let metadata: Logger.Metadata = ["db.replica_lag_seconds": "\(lag.map { String($0) } ?? "unknown")", "db.replica_answered": "\(answered)"]
                if used {
                    logger.info("reads go to the standby", metadata: metadata)
                } else if wasUsed != nil {
                    logger.warning("standby skipped (down or behind --replica-max-lag): reads go to the primary", metadata: metadata)
                }
                wasUsed = used
            }
            let totals = reads.reads
            for (index, server) in servers.enumerated() {
                let total = totals[server] ?? 0
                counters[index].increment(by: total - counted[index])
                counted[index] = total
            }
            try? await Task.sleep(for: interval)
        }
    }
}
