import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1

struct Report: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Report an incident; prints its id.",
        discussion: """
            Fields come from flags, from a JSON file (--file F, or - for stdin), or both (flags win). On a \
            terminal, missing required fields are asked for. A file that names its incident_id can be sent again \
            safely: it is stored once.

            Examples:
              ictl report --category ethnic_violence --subcategory assault \\
                  --occurred-at 2026-11-28 --municipality 'Zubin Potok' \\
                  --source-type witness --summary 'Two men assaulted a returnee.'
              ictl report --file report.json
              ID=$(ictl report --file report.json --killed 1)   # flags win over the file
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
