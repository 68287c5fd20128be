import ArgumentParser
import Foundation

/// Prints rows as an aligned table, CSV, or the daemon's JSON.
enum Output {
    static func emit(_ format: OutputFormat, json: Any, columns: [String], rows: [[String]], hxl: [String]? = nil) {
        switch format {
        case .hxl:
            print(CSV.line(columns))
            print(CSV.line(hxl ?? columns.map { _ in "#meta" }))
            for row in rows { print(CSV.line(row)) }
        case .json:
            let data = (try? JSONSerialization.data(withJSONObject: json, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])) ?? Data()
            print(String(decoding: data, as: UTF8.self))
        case .csv:
            print(CSV.line(columns))
            for row in rows { print(CSV.line(row)) }
        case .table:
            let widths = columns.indices.map { index in min(60, max(columns[index].count, rows.map { $0[index].count }.max() ?? 0)) }
            func line(_ cells: [String]) -> String {
                cells.enumerated().map { index, cell in
                    let clipped = cell.count > widths[index] ? String(cell.prefix(widths[index] - 1)) + "…" : cell
                    return clipped.padding(toLength: widths[index], withPad: " ", startingAt: 0)
                }.joined(separator: "  ").trimmingCharacters(in: .whitespaces)
            }
            print(line(columns))
            for row in rows { print(line(row)) }
        }
    }

    static func string(_ value: Any?) -> String {
        switch value {
        case nil, is NSNull: ""
        case let text as String: text
        case let number as NSNumber: number.stringValue
        default: "\(value!)"
        }
    }
}

func incidentRow(_ item: [String: Any]) -> [String] {
    let incident = item["incident"] as? [String: Any] ?? [:]
    return [
        Output.string(incident["incident_id"]), Output.string(incident["occurred_at"]), Output.string(incident["municipality"]),
        Output.string(incident["category"]) + "/" + Output.string(incident["subcategory"]), Output.string(item["status"]),
        Output.string(item["version"]), Output.string(incident["killed"]), Output.string(incident["injured"]),
        Output.string(incident["summary"]).replacingOccurrences(of: "\n", with: " "),
    ]
}

let incidentColumns = ["ID", "OCCURRED", "MUNICIPALITY", "CATEGORY", "STATUS", "VERSION", "KILLED", "INJURED", "SUMMARY"]
let incidentHXL = ["#event+id", "#date+occurred", "#adm2+code", "#event+type", "#status", "#meta+version", "#affected+killed", "#affected+injured", "#description"]

struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show one incident, with --history its events.",
        discussion: "Admins read its personal data with --include-personal --reason TEXT; each such read is recorded in the access audit (ictl admin audit)."
    )
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: FormatOption
    @Argument(help: "The incident id.") var id: String
    @Flag(help: "Include every event of the incident.") var history = false
    @Flag(help: "Include the incident's personal data (admins; needs --reason; audited).") var includePersonal = false
    @Option(help: "Why you read the personal data (5 to 500 characters), recorded in the access audit.") var reason: String?

    func validate() throws {
        if includePersonal && reason == nil { throw ValidationError("--include-personal needs --reason TEXT: why you read the personal data (it is audited)") }
        if !includePersonal && reason != nil { throw ValidationError("--reason goes with --include-personal") }
        if let reason, !(5...500).contains(reason.unicodeScalars.count) || reason.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) {
            throw ValidationError("--reason must be 5 to 500 characters on one line")
        }
    }

    func run() async throws {
        try await runCommand {
            var parameters: [String] = []
            if history { parameters.append("history=true") }
            if includePersonal { parameters.append("include=personal") }
            let path = "/v1/incidents/\(id)" + (parameters.isEmpty ? "" : "?" + parameters.joined(separator: "&"))
            let response = try await query(connection.client, path, headers: reason.map { [("X-Access-Reason", $0)] } ?? [])
            let json = response.json ?? [:]
            if output.resolved == .table {
                let incident = json["incident"] as? [String: Any] ?? [:]
                for key in incident.keys.sorted() {
                    let value = incident[key]
                    let text = (value is [Any] || value is [String: Any])
                        ? String(decoding: (try? JSONSerialization.data(withJSONObject: value!, options: [.sortedKeys])) ?? Data(), as: UTF8.self)
                        : Output.string(value)
                    print(key.padding(toLength: 22, withPad: " ", startingAt: 0) + text)
                }
                print("status".padding(toLength: 22, withPad: " ", startingAt: 0) + Output.string(json["status"]))
                print("version".padding(toLength: 22, withPad: " ", startingAt: 0) + Output.string(json["version"]))
                for event in json["events"] as? [[String: Any]] ?? [] {
                    let metadata = event["metadata"] as? [String: Any] ?? [:]
                    print("  v\(Output.string(event["stream_version"]))  \(Output.string(event["recorded_at"]))  \(Output.string(event["type"]))  \(Output.string(metadata["principal"]))")
                }
            } else {
                Output.emit(output.resolved, json: json, columns: incidentColumns, rows: [incidentRow(json)], hxl: incidentHXL)
            }
        }
    }
}

struct List: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List incidents, newest first, with filters.")
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: FormatOption
    @Option(help: "Municipality code or name.") var municipality: String?
    @Option(help: "District code or name.") var district: String?
    @Option var category: String?
    @Option var subcategory: String?
    @Option(help: "reported, verified, rejected or retracted.") var status: String?
    @Option(help: "YYYY-MM-DD") var since: String?
    @Option(help: "YYYY-MM-DD") var until: String?
    @Option(help: "Text to find in summaries and places.") var q: String?
    @Option(help: "Page size (at most 500).") var limit = 50
    @Flag(help: "Follow next_cursor and list every page.") var all = false

    func run() async throws {
        try await runCommand {
            let (items, cursor) = try await pages(connection.client, "/v1/incidents", limit: limit, all: all, filters: [
                ("municipality", municipality), ("district", district), ("category", category), ("subcategory", subcategory),
                ("status", status), ("since", since), ("until", until), ("q", q),
            ])
            Output.emit(output.resolved, json: ["items": items, "next_cursor": cursor.map { $0 as Any } ?? NSNull()], columns: incidentColumns, rows: items.map(incidentRow), hxl: incidentHXL)
        }
    }
}

/// The items of a paged listing (`{items, next_cursor}`) at `path` with the filters that are
/// set: the first page, or every page when `all`; and the cursor after the last one read.
func pages(_ client: Client, _ path: String, limit: Int, all: Bool, filters: [(String, String?)]) async throws -> (items: [[String: Any]], cursor: String?) {
    var items: [[String: Any]] = []
    var cursor: String?
    repeat {
        let parameters = [("limit", String(limit))] + (filters + [("cursor", cursor)]).compactMap { key, value in value.map { (key, $0) } }
        let queryString = parameters.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
        let response = try await query(client, path + "?" + queryString)
        items += response.json?["items"] as? [[String: Any]] ?? []
        cursor = response.json?["next_cursor"] as? String
    } while all && cursor != nil
    return (items, cursor)
}

struct Log: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Read the event log after a checkpoint (analysts, reviewers, admins).")
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: FormatOption
    @Option(help: "The checkpoint to read after (from an earlier answer); empty: the start.") var after = ""
    @Option(help: "Events to read (at most 1000).") var limit = 100

    func run() async throws {
        try await runCommand {
            let path = "/v1/events?limit=\(limit)&after=\(after.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")"
            let response = try await query(connection.client, path)
            let events = response.json?["events"] as? [[String: Any]] ?? []
            Output.emit(output.resolved, json: response.json ?? [:], columns: ["POSITION", "RECORDED", "TYPE", "STREAM", "VERSION"], rows: events.map {
                [Output.string($0["global_position"]), Output.string($0["recorded_at"]), Output.string($0["type"]), Output.string($0["stream"]), Output.string($0["stream_version"])]
            })
            if output.resolved == .table { note("checkpoint: \(Output.string(response.json?["checkpoint"]))") }
        }
    }
}

struct Regions: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List Kosovo's districts and municipalities with their codes.")
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: FormatOption

    func run() async throws {
        try await runCommand {
            let response = try await query(connection.client, "/v1/regions")
            var rows: [[String]] = []
            for district in response.json?["districts"] as? [[String: Any]] ?? [] {
                for m in district["municipalities"] as? [[String: Any]] ?? [] {
                    rows.append([Output.string(district["code"]), Output.string(district["name"]), Output.string(m["code"]), Output.string(m["name"]),
                                 (m["aliases"] as? [String] ?? []).joined(separator: "; ")])
                }
            }
            Output.emit(output.resolved, json: response.json ?? [:], columns: ["DISTRICT", "DISTRICT NAME", "CODE", "MUNICIPALITY", "ALIASES"], rows: rows,
                        hxl: ["#adm1+code", "#adm1+name", "#adm2+code", "#adm2+name", "#adm2+name+alt"])
        }
    }
}

struct Taxonomy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List categories and sub-categories.")
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: FormatOption

    func run() async throws {
        try await runCommand {
            let response = try await query(connection.client, "/v1/taxonomy")
            var rows: [[String]] = []
            for category in response.json?["categories"] as? [[String: Any]] ?? [] {
                for sub in category["subcategories"] as? [[String: Any]] ?? [] {
                    rows.append([Output.string(category["code"]), Output.string(sub["code"]), Output.string(sub["label"]), Output.string(sub["forced_sensitivity"])])
                }
            }
            Output.emit(output.resolved, json: response.json ?? [:], columns: ["CATEGORY", "SUBCATEGORY", "LABEL", "ALWAYS"], rows: rows)
        }
    }
}
