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

/// Distinct, valid, realistic incidents: municipalities and sub-categories from the daemon itself.
struct IncidentFactory: Sendable {
    let municipalities: [String]
    let pairs: [(String, String)]
    let days: [String]

    static func load(_ client: HTTPClient, _ target: Target) async throws -> IncidentFactory {
        let regions = try await getJSON(client, target, "/v1/regions")
        let taxonomy = try await getJSON(client, target, "/v1/taxonomy")
        let municipalities = ((regions["districts"] as? [[String: Any]]) ?? []).flatMap { ($0["municipalities"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String } }
        var pairs: [(String, String)] = []
        for category in taxonomy["categories"] as? [[String: Any]] ?? [] {
            for sub in category["subcategories"] as? [[String: Any]] ?? [] where sub["forced_sensitivity"] == nil || sub["forced_sensitivity"] is NSNull {
                pairs.append((category["code"] as! String, sub["code"] as! String))
            }
        }
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyy-MM-dd"
        formatter.timeZone = TimeZone(identifier: "UTC")
        let days = (1...84).map { formatter.string(from: Date().addingTimeInterval(-Double($0) * 86_400)) }
        return IncidentFactory(municipalities: municipalities, pairs: pairs, days: days)
    }

    func make(_ n: Int) -> String {
        var random = SystemRandomNumberGenerator()
        let (category, subcategory) = pairs.randomElement(using: &random)!
        let killed = Int.random(in: 0..<10, using: &random) == 0 ? Int.random(in: 1...3, using: &random) : 0
        return """
            {"incident_id":"\(UUID().uuidString.lowercased())","category":"\(category)","subcategory":"\(subcategory)",\
            "occurred_at":"\(days.randomElement(using: &random)!)","municipality":"\(municipalities.randomElement(using: &random)!)",\
            "place":"Village road \(n % 97)","summary":"Benchmark incident \(n): a group of men stopped the car of a returnee family and threatened them.",\
            "source_type":"witness","source_reliability":"B","info_credibility":2,"killed":\(killed),"injured":\(Int.random(in: 0...2, using: &random)),\
            "affected_communities":["serb","albanian"],"tags":["benchmark"]}
            """
    }
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
func milliseconds(since start: ContinuousClock.Instant) -> Double {
    let d = ContinuousClock.now - start
    return Double(d.components.seconds) * 1000 + Double(d.components.attoseconds) / 1e15
}

/// The append load for `wrk` (a C load generator, light enough to leave the two cores to incidentd
/// and PostgreSQL): a Lua script that POSTs distinct incidents made like ``IncidentFactory/make(_:)``
/// from the daemon's own municipalities and sub-categories, and prints wrk's figures as one JSON
/// object when done, counting only 201 answers as reports.
struct WrkScript: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "wrk-script", abstract: "Print the wrk Lua script of the append benchmark.")
    @OptionGroup var target: Target

    func run() async throws {
        let client = HTTPClient(eventLoopGroupProvider: .singleton)
        let factory = try await IncidentFactory.load(client, target)
        try await client.shutdown()
        func list(_ values: [String]) -> String { "{" + values.map { "\"\($0)\"" }.joined(separator: ",") + "}" }
        print("""
            local municipalities = \(list(factory.municipalities))
            local categories = \(list(factory.pairs.map(\.0)))
            local subcategories = \(list(factory.pairs.map(\.1)))
            local days = \(list(factory.days))
            local token = "\(target.token)"
            local threads, counter, prefix = {}, 0, 0

            function setup(thread)
              thread:set("id", #threads + 1)
              table.insert(threads, thread)
            end

            function init(args)
              math.randomseed(os.time() * 1000 + id)
              prefix = math.random(0, 0xffffff)
            end

            function request()
              counter = counter + 1
              local k = math.random(#categories)
              local killed = math.random(10) == 1 and math.random(3) or 0
              local body = string.format(
                '{"incident_id":"%08x-%04x-4%03x-8%03x-%012x","category":"%s","subcategory":"%s","occurred_at":"%s",' ..
                '"municipality":"%s","place":"Village road %d","summary":"Benchmark incident %d: a group of men stopped ' ..
                'the car of a returnee family and threatened them.","source_type":"witness","source_reliability":"B",' ..
                '"info_credibility":2,"killed":%d,"injured":%d,"affected_communities":["serb","albanian"],"tags":["benchmark"]}',
                prefix, id, math.random(0, 0xfff), math.random(0, 0xfff), counter,
                categories[k], subcategories[k], days[math.random(#days)], municipalities[math.random(#municipalities)],
                counter % 97, counter, killed, math.random(0, 2))
              return wrk.format("POST", "/v1/incidents",
                {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}, body)
            end

            function done(summary, latency, requests)
              local e = summary.errors
              local failed = e.status + e.connect + e.read + e.write + e.timeout
              local seconds = summary.duration / 1e6
              io.write(string.format('{"threads":%d,"ok":%d,"failed":%d,"seconds":%.3f,"per_second":%.1f,"p50_ms":%.3f,"p99_ms":%.3f}\\n',
                #threads, summary.requests - e.status, failed, seconds, (summary.requests - e.status) / seconds,
                latency:percentile(50) / 1000, latency:percentile(99) / 1000))
            end
            """)
    }
}

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
        emit(["target_rate": rate, "achieved_rate": Double(written.count) / seconds, "written": written.count, "failed": await record.failed,
              "seconds": elapsed, "p50_ms": percentile(lags, 0.5), "p99_ms": percentile(lags, 0.99), "polls": visible.count])
    }
}
