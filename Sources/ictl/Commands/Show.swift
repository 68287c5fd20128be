import ArgumentParser
import Foundation

struct Show: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show one incident, with --history its events.", usage: "ictl show <id> [--history] [--include-personal --reason <r>] [<options>]",
        discussion: """
            On a terminal the record is laid out in sections: what, where, when, who and how many, the source, \
            the sensitivity and the tags; --history adds the timeline of its events with what each changed. \
            Admins read its personal data with --include-personal --reason TEXT; each such read is recorded in \
            the access audit (ictl admin audit).

            Examples:
              ictl show ID --history
              ictl show ID --format json | jq .incident.summary
              ictl show ID --include-personal --reason 'follow-up agreed with the victim'
            """
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
                let terminal = output.terminal
                let names = await ReferenceNames.fetch(try connection.client)
                var lines = IncidentCard(shown: json, names: names, terminal: terminal).lines()
                if let events = json["events"] as? [[String: Any]] { lines += [""] + IncidentTimeline(events: events, terminal: terminal).lines() }
                for line in lines { print(line) }
            } else {
                Output.emit(output, json: json, columns: incidentColumns, rows: [incidentRow(json)], hxl: incidentHXL)
            }
        }
    }
}
