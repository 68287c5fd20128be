import ArgumentParser
import Foundation

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
                    let text =
                        (value is [Any] || value is [String: Any])
                        ? String(decoding: (try? JSONSerialization.data(withJSONObject: value!, options: [.sortedKeys])) ?? Data(), as: UTF8.self)
                        : Output.string(value)
                    print(key.padding(toLength: 22, withPad: " ", startingAt: 0) + text)
                }
                print("status".padding(toLength: 22, withPad: " ", startingAt: 0) + Output.string(json["status"]))
                print("version".padding(toLength: 22, withPad: " ", startingAt: 0) + Output.string(json["version"]))
                for event in json["events"] as? [[String: Any]] ?? [] {
                    let metadata = event["metadata"] as? [String: Any] ?? [:]
                    print(
                        "  v\(Output.string(event["stream_version"]))  \(Output.string(event["recorded_at"]))  \(Output.string(event["type"]))  \(Output.string(metadata["principal"]))"
                    )
                }
            } else {
                Output.emit(output.resolved, json: json, columns: incidentColumns, rows: [incidentRow(json)], hxl: incidentHXL)
            }
        }
    }
}
