import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

struct Lag: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Report at RATE/s for SECONDS; measure from each report's answer to the summary's as_of covering it.",
        discussion: """
            With --webhook-port, also from each report's answer to its webhook's arrival at a receiver this tool runs on that \
            loopback port, through a subscription to every event made for the run (incidentd needs --allow-webhook-host 127.0.0.1).
            """
    )
    @OptionGroup var target: Target
    @Option var rate = 1000
    @Option var seconds = 60.0
    @Option(help: "Concurrent writers sharing the rate.") var writers = 16
    @Option(help: "Also measure webhook delivery to a receiver on this loopback port.") var webhookPort: Int?

    /// What the writers and the watcher share.
    actor Record {
        var written: [(position: Int64, at: ContinuousClock.Instant)] = []
        var events: [String: ContinuousClock.Instant] = [:]
        var failed = 0
        var highest: Int64 = 0
        func add(_ position: Int64, event: String, _ at: ContinuousClock.Instant) {
            written.append((position, at))
            events[event] = at
            highest = max(highest, position)
        }
        func fail() { failed += 1 }
        var progress: (count: Int, failed: Int, last: Int64) { (written.count, failed, highest) }
    }

    func run() async throws {
        let client = makeClient(connections: writers + 1)
        let factory = try await IncidentFactory.load(client, target)
        let record = Record()
        var webhooks: WebhookReceiver?
        if let webhookPort { webhooks = try await WebhookReceiver.start(port: webhookPort, client: client, target: target) }
        let start = ContinuousClock.now
        let total = Int(Double(rate) * seconds)
        let writing = Task { try await write(total: total, from: start, client: client, factory: factory, into: record) }
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
        let lags = written.compactMap { position, at in visible.first { $0.asOf >= position }.map { milliseconds($0.at - at) } }.sorted()
        let elapsed = milliseconds(since: start) / 1000
        var figures: [String: Any] = [
            "target_rate": rate, "achieved_rate": Double(written.count) / seconds, "written": written.count, "failed": await record.failed,
            "seconds": elapsed, "p50_ms": percentile(lags, 0.5), "p99_ms": percentile(lags, 0.99), "polls": visible.count,
        ]
        if let webhooks {
            let delivery = try await webhooks.finish(await record.events)
            figures["delivered"] = delivery.count
            figures["delivery_p50_ms"] = percentile(delivery, 0.5)
            figures["delivery_p99_ms"] = percentile(delivery, 0.99)
        }
        try await client.shutdown()
        emit(figures)
    }

    /// The writers: worker w sends reports w, w + writers, ... each at its scheduled instant.
    private func write(total: Int, from start: ContinuousClock.Instant, client: HTTPClient, factory: IncidentFactory, into record: Record) async throws {
        let interval = 1.0 / Double(rate)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for worker in 0..<writers {
                group.addTask {
                    var n = worker
                    while n < total {
                        let due = start + .microseconds(Int(Double(n) * interval * 1_000_000))
                        if due > .now { try await Task.sleep(until: due, clock: .continuous) }
                        let (status, data) = try await post(client, target, "/v1/incidents", factory.make(n))
                        let answered = ContinuousClock.now
                        if status == 201, let answer = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                            let position = answer["global_position"] as? Int, let event = answer["event_id"] as? String
                        {
                            await record.add(Int64(position), event: event, answered)
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
}
