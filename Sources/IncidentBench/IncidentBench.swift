import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The load generator of `benchmarks/run`: drives a running incidentd over HTTP and prints what it
/// measured as one JSON object on stdout. It asserts nothing; the script compares.
@main
struct IncidentBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incident-bench",
        abstract: "Load generator for benchmarks/run (prints one JSON object of measurements).",
        subcommands: [WrkScript.self, Import.self, Latency.self, Lag.self]
    )
}

struct Target: ParsableArguments {
    @Option(help: "incidentd URL.") var url = "http://127.0.0.1:8080"
    @Option(help: "API token.") var token: String
}

func getJSON(_ client: HTTPClient, _ target: Target, _ path: String) async throws -> [String: Any] {
    var request = HTTPClientRequest(url: target.url + path)
    request.headers.add(name: "Authorization", value: "Bearer " + target.token)
    let response = try await client.execute(request, timeout: .seconds(30))
    let body = try await response.body.collect(upTo: 64 << 20)
    guard response.status == .ok else { throw ValidationError("GET \(path): \(response.status)") }
    return (try JSONSerialization.jsonObject(with: Data(body.readableBytesView)) as? [String: Any]) ?? [:]
}

func post(_ client: HTTPClient, _ target: Target, _ path: String, _ body: String, type: String = "application/json") async throws -> (Int, Data) {
    var request = HTTPClientRequest(url: target.url + path)
    request.method = .POST
    request.headers.add(name: "Authorization", value: "Bearer " + target.token)
    request.headers.add(name: "Content-Type", value: type)
    request.body = .bytes(ByteBuffer(string: body))
    let response = try await client.execute(request, timeout: .seconds(120))
    let data = try await response.body.collect(upTo: 64 << 20)
    return (Int(response.status.code), Data(data.readableBytesView))
}

func makeClient(connections: Int) -> HTTPClient {
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool = .init(idleTimeout: .seconds(60), concurrentHTTP1ConnectionsPerHostSoftLimit: connections)
    // A redirect is an answer to measure or check (the console's sign-in answers 303), not to follow.
    configuration.redirectConfiguration = .disallow
    return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
}

func percentile(_ sorted: [Double], _ p: Double) -> Double {
    guard !sorted.isEmpty else { return 0 }
    return sorted[min(sorted.count - 1, Int((Double(sorted.count - 1) * p).rounded()))]
}

func emit(_ object: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

/// Milliseconds since `start`.
func milliseconds(since start: ContinuousClock.Instant) -> Double { milliseconds(ContinuousClock.now - start) }

/// A duration in milliseconds, never below zero.
func milliseconds(_ duration: Duration) -> Double {
    max(0, Double(duration.components.seconds) * 1000 + Double(duration.components.attoseconds) / 1e15)
}
