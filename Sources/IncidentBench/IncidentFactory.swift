import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Distinct, valid, realistic incidents: municipalities and sub-categories from the daemon itself.
struct IncidentFactory: Sendable {
    let municipalities: [String]
    let pairs: [(String, String)]
    let days: [String]

    static func load(_ client: HTTPClient, _ target: Target) async throws -> IncidentFactory {
        let regions = try await getJSON(client, target, "/v1/regions")
        let taxonomy = try await getJSON(client, target, "/v1/taxonomy")
        let municipalities = ((regions["districts"] as? [[String: Any]]) ?? []).flatMap {
            ($0["municipalities"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
        }
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
