import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

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
        print(
            """
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
