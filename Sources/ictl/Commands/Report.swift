import ArgumentParser
import Foundation
import NIOHTTP1
import NIOCore

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Report an incident; prints its id.",
        discussion: """
            Fields come from flags, from a JSON file (--file F, or - for stdin), or both (flags win).
            On a terminal, missing required fields are asked for. A file that names its incident_id
            can be sent again safely: it is stored once.
            Example: ictl report --category ethnic_violence --subcategory assault --occurred-at 2026-11-28 \\
                       --municipality 'Zubin Potok' --source-type witness --summary 'Two men assaulted a returnee.'
            """
    )

    @OptionGroup var connection: ConnectionOptions
    @Option(help: ArgumentHelp("A JSON file with the record (docs/data-model.md), or - for stdin.", valueName: "file")) var file: String?
    @Option var category: String?
    @Option var subcategory: String?
    @Option(help: "RFC 3339 timestamp or YYYY-MM-DD.") var occurredAt: String?
    @Option(help: "day, week or month.") var datePrecision: String?
    @Option(help: "Municipality code or name (pec, Peja, XK-PEJ-01).") var municipality: String?
    @Option var place: String?
    @Option var lat: Double?
    @Option var lon: Double?
    @Option var summary: String?
    @Option var perpetrator: String?
    @Option var target: String?
    @Option(help: "direct_observation, police, victim, witness, community_leader, ngo, media or other.") var sourceType: String?
    @Option var killed: Int?
    @Option var injured: Int?
    @Option var abducted: Int?
    @Option var displaced: Int?
    @Option(help: "public, restricted or confidential.") var sensitivity: String?
    @Option(name: .customLong("community"), help: "An affected community (repeatable).") var communities: [String] = []
    @Option(name: .customLong("tag"), help: "A tag (repeatable).") var tags: [String] = []
    @Option(help: "The incident id (a UUID) when you want to choose it.") var incidentID: String?

    func run() async throws {
        try await runCommand {
            let client = try connection.client
            var record = try loadFile()
            let flags: [(String, Any?)] = [
                ("category", category), ("subcategory", subcategory), ("occurred_at", occurredAt),
                ("date_precision", datePrecision), ("municipality", municipality), ("place", place), ("lat", lat),
                ("lon", lon), ("summary", summary), ("perpetrator", perpetrator), ("target", target),
                ("source_type", sourceType), ("killed", killed), ("injured", injured), ("abducted", abducted),
                ("displaced", displaced), ("sensitivity", sensitivity), ("incident_id", incidentID),
                ("affected_communities", communities.isEmpty ? nil : communities), ("tags", tags.isEmpty ? nil : tags),
            ]
            for (key, value) in flags { if let value { record[key] = value } }
            if isatty(STDIN_FILENO) == 1 && file != "-" && Prompt.required.contains(where: { record[$0] == nil }) {
                await Prompt.load(client).fillMissing(&record)
            }
            // The id is chosen here so it can be printed even when the report waits in the outbox.
            if record["incident_id"] == nil { record["incident_id"] = UUID().uuidString.lowercased() }
            let key = record["event_id"] as? String
            try await write(client, path: "/v1/incidents", body: record, idempotencyKey: key, command: "report", incidentID: record["incident_id"] as? String)
        }
    }

    private func loadFile() throws -> [String: Any] {
        guard let file else { return [:] }
        let data: Data
        if file == "-" {
            data = FileHandle.standardInput.readDataToEndOfFile()
        } else {
            guard let contents = FileManager.default.contents(atPath: file) else {
                throw CLIError(code: Exit.usage, message: "cannot read \(file)")
            }
            data = contents
        }
        guard let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw CLIError(code: Exit.rejected, message: "\(file == "-" ? "stdin" : file) is not a JSON object")
        }
        return object
    }
}

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
            prompt.categories = taxonomy.json?["categories"] as? [[String: Any]] ?? []
        }
        if let regions = try? await client.send(.GET, "/v1/regions", timeout: .seconds(5)), regions.status == 200 {
            for district in regions.json?["districts"] as? [[String: Any]] ?? [] {
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
                say("  no municipality '\(answer)'" + (hints.isEmpty ? "; `ictl regions` lists them" : "; did you mean " + hints.map { "\($0.name) (\($0.code))" }.joined(separator: ", ") + "?"))
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

struct Amend: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Amend fields of an incident, with a reason; prints its id.",
        discussion: "Example: ictl amend ID --expected-version 1 --set killed=2 --set municipality=pec --reason 'police report'"
    )
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The incident id.") var id: String
    @Option(help: "The version you saw (ictl show); omitted, the current one is fetched.") var expectedVersion: Int?
    @Option(name: .customLong("set"), help: ArgumentHelp("field=value (repeatable); numbers and JSON values are parsed, 'null' clears.", valueName: "field=value")) var sets: [String] = []
    @Option(help: ArgumentHelp("A JSON file of changes.", valueName: "file")) var changesFile: String?
    @Option(help: "Why the record changes.") var reason: String

    func validate() throws {
        if sets.isEmpty && changesFile == nil { throw ValidationError("give --set field=value or --changes-file") }
        for item in sets where !item.contains("=") { throw ValidationError("--set takes field=value, not '\(item)'") }
    }

    func run() async throws {
        try await runCommand {
            var changes: [String: Any] = [:]
            if let changesFile {
                guard let data = FileManager.default.contents(atPath: changesFile),
                      let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
                else { throw CLIError(code: Exit.usage, message: "\(changesFile) is not a JSON object") }
                changes = object
            }
            for item in sets {
                let parts = item.split(separator: "=", maxSplits: 1)
                let key = String(parts[0]), text = parts.count > 1 ? String(parts[1]) : ""
                changes[key] = (try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])) ?? text
            }
            let client = try connection.client
            let version = try await resolvedVersion(expectedVersion, client, id)
            try await write(client, path: "/v1/incidents/\(id)/amendments",
                            body: ["expected_version": version, "changes": changes, "reason": reason],
                            idempotencyKey: UUID().uuidString.lowercased(), command: "amend", incidentID: id)
        }
    }
}

/// The version the user named, else the incident's current one.
func resolvedVersion(_ named: Int?, _ client: Client, _ id: String) async throws -> Int {
    if let named { return named }
    return try await currentVersion(client, id)
}

/// The incident's current version, for writes that did not name one.
func currentVersion(_ client: Client, _ id: String) async throws -> Int {
    let response = try await query(client, "/v1/incidents/\(id)")
    guard let version = response.json?["version"] as? Int else { throw CLIError(code: Exit.other, message: "unexpected answer from the daemon") }
    return version
}

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Verify an incident (reviewers); prints its id.")
    @OptionGroup var decision: DecisionOptions
    func run() async throws { try await decision.send("verified") }
}

struct Reject: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Reject an incident (reviewers); prints its id.")
    @OptionGroup var decision: DecisionOptions
    func run() async throws { try await decision.send("rejected") }
}

struct DecisionOptions: ParsableArguments {
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The incident id.") var id: String
    @Option(help: "The version you saw; omitted, the current one is fetched.") var expectedVersion: Int?
    @Option(help: "The reviewer's note.") var note: String

    func send(_ decision: String) async throws {
        try await runCommand {
            let client = try connection.client
            let version = try await resolvedVersion(expectedVersion, client, id)
            try await write(client, path: "/v1/incidents/\(id)/verification",
                            body: ["expected_version": version, "decision": decision, "note": note],
                            idempotencyKey: UUID().uuidString.lowercased(), command: decision == "verified" ? "verify" : "reject", incidentID: id)
        }
    }
}

struct Retract: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Retract an incident (duplicate, erroneous, out_of_scope); prints its id.")
    @OptionGroup var connection: ConnectionOptions
    @Argument(help: "The incident id.") var id: String
    @Option(help: "The version you saw; omitted, the current one is fetched.") var expectedVersion: Int?
    @Option(help: "duplicate, erroneous or out_of_scope.") var reason: String
    @Option(help: "The incident this one duplicates.") var duplicateOf: String?

    func run() async throws {
        try await runCommand {
            let client = try connection.client
            let version = try await resolvedVersion(expectedVersion, client, id)
            var body: [String: Any] = ["expected_version": version, "reason": reason]
            if let duplicateOf { body["duplicate_of"] = duplicateOf }
            try await write(client, path: "/v1/incidents/\(id)/retraction", body: body,
                            idempotencyKey: UUID().uuidString.lowercased(), command: "retract", incidentID: id)
        }
    }
}
