import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

struct Latency: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "GET a path REQUESTS times from CLIENTS clients; latency percentiles.")
    @OptionGroup var target: Target
    @Option var path: String
    @Option var requests = 1000
    @Option var clients = 1

    func run() async throws {
        let client = makeClient(connections: clients)
        _ = try await getJSON(client, target, path)  // warm-up
        let perClient = max(1, requests / clients)
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for _ in 0..<clients {
                group.addTask {
                    var latencies: [Double] = []
                    for _ in 0..<perClient {
                        let sent = ContinuousClock.now
                        _ = try await getJSON(client, target, path)
                        latencies.append(milliseconds(since: sent))
                    }
                    return latencies
                }
            }
            return try await group.reduce(into: [Double]()) { $0 += $1 }
        }.sorted()
        try await client.shutdown()
        emit(["requests": latencies.count, "p50_ms": percentile(latencies, 0.5), "p99_ms": percentile(latencies, 0.99), "max_ms": latencies.last ?? 0])
    }
}
