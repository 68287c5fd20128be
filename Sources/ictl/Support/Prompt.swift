import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1

/// Interactive prompts for the required fields a report lacks (only on a terminal): categories,
/// sub-categories and source types as numbered choices, municipality names resolved as the
/// server does (code, either name, no diacritics) with candidates when a name is ambiguous.
struct Prompt {
    static let required = ["category", "subcategory", "occurred_at", "municipality", "summary", "source_type"]
    var categories: [[String: Any]] = []
    var municipalities: [(code: String, name: String, keys: [String])] = []

    /// Loads the taxonomy and regions to suggest from; without the daemon, prompts stay plain.
    static func load(_ client: Client) async -> Prompt {
        var prompt = Prompt()
        if let taxonomy = try? await client.send(.GET, "/v1/taxonomy", timeout: .seconds(5)), taxonomy.status == 200 {
            prompt.categories = taxonomy.objects("categories")
        }
        if let regions = try? await client.send(.GET, "/v1/regions", timeout: .seconds(5)), regions.status == 200 {
            for district in regions.objects("districts") {
                for m in district["municipalities"] as? [[String: Any]] ?? [] {
                    let names = [m["code"], m["name_sq"], m["name_sr"]].compactMap { $0 as? String } + (m["aliases"] as? [String] ?? [])
                    prompt.municipalities.append((m["code"] as? String ?? "", m["name"] as? String ?? "", names.map(fold)))
                }
            }
        }
        return prompt
    }

    static func fold(_ text: String) -> String {
        text.lowercased().folding(options: [.diacriticInsensitive], locale: nil)
            .replacingOccurrences(of: "đ", with: "d").replacingOccurrences(of: "-", with: " ")
            .split(separator: " ").joined(separator: " ")
    }

    func ask(_ question: String) -> String? {
        FileHandle.standardError.write(Data("\(question): ".utf8))
        return readLine()?.trimmingCharacters(in: .whitespaces)
    }

    func say(_ text: String) { FileHandle.standardError.write(Data((text + "\n").utf8)) }

    /// Numbered choices; accepts the number or the code.
    func choose(_ title: String, _ codes: [String]) -> String? {
        guard !codes.isEmpty else { return ask(title) }
        say(title + ":")
        for (index, code) in codes.enumerated() { say("  \(index + 1)) \(code)") }
        while let answer = ask("choose 1-\(codes.count) or type a code") {
            if let number = Int(answer), (1...codes.count).contains(number) { return codes[number - 1] }
            if codes.contains(answer) { return answer }
            let close = codes.filter { $0.hasPrefix(answer.lowercased()) }
            if close.count == 1 { return close[0] }
            say(answer.isEmpty ? "a choice is required" : "not one of the choices" + (close.isEmpty ? "" : "; did you mean \(close.joined(separator: " or "))?"))
        }
        return nil
    }

    func municipality() -> String? {
        while let answer = ask("Municipality (code or name, e.g. Zubin Potok, pec, XK-PRI-01)") {
            guard !municipalities.isEmpty else { return answer.isEmpty ? nil : answer }
            let key = Self.fold(answer)
            if key.isEmpty { continue }
            let exact = municipalities.filter { $0.keys.contains(key) }
            if exact.count == 1 {
                say("  → \(exact[0].name) (\(exact[0].code))")
                return exact[0].code
            }
            let partial = exact.isEmpty && key.count >= 3 ? municipalities.filter { m in m.keys.contains { $0.contains(key) } } : exact
            if partial.count == 1 {
                say("  → \(partial[0].name) (\(partial[0].code))")
                return partial[0].code
            }
            if partial.isEmpty {
                let prefix = String(key.prefix(3))
                let hints = municipalities.filter { m in m.keys.contains { $0.hasPrefix(prefix) } }.prefix(5)
                say(
                    "  no municipality '\(answer)'"
                        + (hints.isEmpty ? "; `ictl regions` lists them" : "; did you mean " + hints.map { "\($0.name) (\($0.code))" }.joined(separator: ", ") + "?"))
            } else {
                say("  '\(answer)' could be: " + partial.prefix(8).map { "\($0.name) (\($0.code))" }.joined(separator: ", "))
            }
        }
        return nil
    }

    func fillMissing(_ record: inout [String: Any]) {
        if record["category"] == nil {
            record["category"] = choose("Category", categories.compactMap { $0["code"] as? String })
        }
        if record["subcategory"] == nil {
            let category = categories.first { $0["code"] as? String == record["category"] as? String }
            let codes = (category?["subcategories"] as? [[String: Any]] ?? []).compactMap { $0["code"] as? String }
            record["subcategory"] = choose("Sub-category", codes)
        }
        if record["occurred_at"] == nil {
            let answer = ask("Occurred (YYYY-MM-DD or RFC 3339; empty: today)") ?? ""
            if answer.isEmpty {
                let formatter = DateFormatter()
                formatter.dateFormat = "yyyy-MM-dd"
                formatter.timeZone = TimeZone(identifier: "Europe/Belgrade")
                record["occurred_at"] = formatter.string(from: Date())
            } else {
                record["occurred_at"] = answer
            }
        }
        if record["municipality"] == nil { record["municipality"] = municipality() }
        if record["summary"] == nil {
            record["summary"] = ask("Summary (what happened; no names of victims or witnesses)")
        }
        if record["source_type"] == nil {
            record["source_type"] = choose("Source", ["direct_observation", "police", "victim", "witness", "community_leader", "ngo", "media", "other"])
        }
    }
}
