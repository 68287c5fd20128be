import Foundation
import IncidentStore
import IncidentTesting
import Logging
import PostgresLibpq
import Synchronization
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The database stopped and started again while the daemon serves: what blocking probes from a
/// thread of their own saw.
struct Outage: Sendable {
    /// Reports sent while the database was down.
    var probes: [Answer] = []
    /// `/readyz` while it was down.
    var ready: Answer?
    /// From the stop until the probes were done.
    var downFor: Duration = .zero
    /// From the database's return (`pg_ctl start` returned) to the end of the first 2xx; nil: none within 15 s.
    var recovered: Duration?
    /// Each probe after the return: when it ended, its status and how long it took.
    var afterReturn: [String] = []

    /// Blocks: stops the cluster, probes, starts it, probes until a report is stored.
    static func run(cluster: LocalCluster, port: Int, token: String, logger: Logger) throws -> Outage {
        var outage = Outage()
        try cluster.stop(logger: logger)
        let down = ContinuousClock.now
        // While it is down: every answer a 503 with Retry-After, /readyz too, and quickly.
        Thread.sleep(forTimeInterval: 0.5)
        for _ in 0..<10 {
            outage.probes.append(RawClient.post(port: port, token: token, body: FieldReport.make(1)[0].body))
            Thread.sleep(forTimeInterval: 0.1)
        }
        outage.ready = RawClient.get(port: port, "/readyz")
        outage.downFor = ContinuousClock.now - down

        try cluster.start(logger: logger)
        let up = ContinuousClock.now
        while ContinuousClock.now - up < .seconds(15) {
            let probe = RawClient.post(port: port, token: token, body: FieldReport.make(1)[0].body)
            outage.afterReturn.append("\(ContinuousClock.now - up): \(probe.status.map(String.init) ?? "no answer") in \(probe.elapsed)")
            if let status = probe.status, (200..<300).contains(status) {
                outage.recovered = ContinuousClock.now - up
                break
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return outage
    }
}
