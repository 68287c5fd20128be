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
    @Flag(help: "GET a page of the web console: sign in through its form with the token, then send the session cookie.")
    var console = false

    func run() async throws {
        let client = makeClient(connections: clients)
        do {
            try await measure(client)
        } catch {
            try await client.shutdown()
            throw error
        }
        try await client.shutdown()
    }

    private func measure(_ client: HTTPClient) async throws {
        let cookie = console ? try await consoleSession(client, target) : nil
        let target = self.target
        let get: @Sendable (String) async throws -> Void = { path in
            if let cookie { try await getPage(client, target, path, cookie: cookie) } else { _ = try await getJSON(client, target, path) }
        }
        try await get(path)  // warm-up
        let perClient = max(1, requests / clients)
        let latencies = try await withThrowingTaskGroup(of: [Double].self) { group in
            for _ in 0..<clients {
                group.addTask {
                    var latencies: [Double] = []
                    for _ in 0..<perClient {
                        let sent = ContinuousClock.now
                        try await get(path)
                        latencies.append(milliseconds(since: sent))
                    }
                    return latencies
                }
            }
            return try await group.reduce(into: [Double]()) { $0 += $1 }
        }.sorted()
        emit(["requests": latencies.count, "p50_ms": percentile(latencies, 0.5), "p99_ms": percentile(latencies, 0.99), "max_ms": latencies.last ?? 0])
    }
}
