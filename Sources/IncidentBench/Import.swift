import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "POST /v1/incidents:batch: COUNT incidents in batches of BATCH lines.")
    @OptionGroup var target: Target
    @Option var count = 100_000
    @Option var batch = 10_000
    @Option(help: "Batches in flight at once.") var parallel = 1

    func run() async throws {
        let client = makeClient(connections: parallel)
        let factory = try await IncidentFactory.load(client, target)
        // Bodies are made before the clock starts: the figure is the daemon's, not the generator's.
        let bodies = stride(from: 0, to: count, by: batch).map { first in
            (first..<min(count, first + batch)).map { factory.make($0) }.joined(separator: "\n")
        }
        let start = ContinuousClock.now
        let accepted = try await withThrowingTaskGroup(of: Int.self) { group in
            var next = 0
            var total = 0
            func add(_ index: Int) {
                group.addTask {
                    let (status, data) = try await post(client, target, "/v1/incidents:batch", bodies[index], type: "application/x-ndjson")
                    guard status == 200 else { throw ValidationError("batch answered \(status): \(String(decoding: data.prefix(200), as: UTF8.self))") }
                    return ((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["accepted"] as? Int) ?? 0
                }
            }
            while next < min(parallel, bodies.count) { add(next); next += 1 }
            while let done = try await group.next() {
                total += done
                if next < bodies.count { add(next); next += 1 }
            }
            return total
        }
        let elapsed = milliseconds(since: start) / 1000
        try await client.shutdown()
        emit(["events": accepted, "seconds": elapsed, "per_second": Double(accepted) / elapsed])
    }
}
