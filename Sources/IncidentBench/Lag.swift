import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

struct Lag: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Report at RATE/s for SECONDS; measure from each report's answer to the summary's as_of covering it."
    )
    @OptionGroup var target: Target
    @Option var rate = 1000
    @Option var seconds = 60.0
    @Option(help: "Concurrent writers sharing the rate.") var writers = 16

    /// What the writers and the watcher share.
    actor Record {
        var written: [(position: Int64, at: ContinuousClock.Instant)] = []
        var failed = 0
        var highest: Int64 = 0
        func add(_ position: Int64, _ at: ContinuousClock.Instant) {
            written.append((position, at))
            highest = max(highest, position)
        }
        func fail() { failed += 1 }
        var progress: (count: Int, failed: Int, last: Int64) { (written.count, failed, highest) }
    }

    func run() async throws {
        let client = makeClient(connections: writers + 1)
        let factory = try await IncidentFactory.load(client, target)
        let record = Record()
        let start = ContinuousClock.now
        let total = Int(Double(rate) * seconds)
        let interval = 1.0 / Double(rate)
        let writing = Task {
            try await withThrowingTaskGroup(of: Void.self) { group in
                for worker in 0..<writers {
                    group.addTask {
                        // Worker w sends reports w, w + writers, ... each at its scheduled instant.
                        var n = worker
                        while n < total {
                            let due = start + .microseconds(Int(Double(n) * interval * 1_000_000))
                            if due > .now { try await Task.sleep(until: due, clock: .continuous) }
                            let (status, data) = try await post(client, target, "/v1/incidents", factory.make(n))
                            let answered = ContinuousClock.now
                            if status == 201, let position = (try? JSONSerialization.jsonObject(with: data) as? [String: Any])?["global_position"] as? Int {
                                await record.add(Int64(position), answered)
                            } else {
                                await record.fail()
                            }
                            n += writers
                        }
                    }
                }
                try await group.waitForAll()
            }
        }
        // The watcher polls the summary; an event is visible once as_of reaches its position.
        var visible: [(asOf: Int64, at: ContinuousClock.Instant)] = []
        let path = "/v1/summaries?level=district"
        while true {
            let asOf = (try await getJSON(client, target, path)["as_of"] as? Int).map(Int64.init) ?? 0
            visible.append((asOf, .now))
            let (count, failed, last) = await record.progress
            if count + failed >= total, asOf >= last { break }
            if milliseconds(since: start) > (seconds + 30) * 1000 { break }
            try await Task.sleep(for: .milliseconds(5))
        }
        try await writing.value
        let written = await record.written
        var lags: [Double] = []
        for (position, at) in written {
            guard let seen = visible.first(where: { $0.asOf >= position }) else { continue }
            let lag = seen.at - at
            lags.append(max(0, Double(lag.components.seconds) * 1000 + Double(lag.components.attoseconds) / 1e15))
        }
        lags.sort()
        let elapsed = milliseconds(since: start) / 1000
        try await client.shutdown()
        emit([
            "target_rate": rate, "achieved_rate": Double(written.count) / seconds, "written": written.count, "failed": await record.failed,
            "seconds": elapsed, "p50_ms": percentile(lags, 0.5), "p99_ms": percentile(lags, 0.99), "polls": visible.count,
        ])
    }
}
