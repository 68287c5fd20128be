import ArgumentParser
import Foundation

/// `ictl admin audit`: the access audit (`GET /v1/admin/audit`), oldest first.
struct Audit: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read the access audit: reads of personal data, erasures, redactions, tokens, rebuilds, outbox deliveries with personal data.",
        usage: "ictl admin audit [--since <when>] [--until <when>] ... [<options>]",
        discussion: """
            Filters as GET /v1/admin/audit: --since/--until take a date (a Kosovo day) or an RFC 3339 timestamp. \
            Oldest first.

            Examples:
              ictl admin audit --since 2026-11-01
              ictl admin audit --format csv > audit.csv
            """
    )
    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var output: FormatOption
    @Option(help: "From this date (YYYY-MM-DD) or timestamp.") var since: String?
    @Option(help: "Up to this date (inclusive) or timestamp.") var until: String?
    @Option(help: "Only this principal (a token's name, or local:USER).") var principal: String?
    @Option(help: "Only this action (personal_data.read, personal_data.erase, narrative.redact, token.create, token.revoke, projection.rebuild, outbox.deliver).")
    var action: String?
    @Option(help: "Only records about this incident id.") var incident: String?
    @Option(help: "Page size (at most 1000).") var limit = 100
    @Flag(help: "Follow next_cursor and read every page.") var all = false

    func validate() throws {
        guard (1...1000).contains(limit) else { throw ValidationError("--limit must be from 1 to 1000") }
    }

    func run() async throws {
        try await runCommand {
            let (items, cursor) = try await pages(
                connection.client, "/v1/admin/audit", limit: limit, all: all,
                filters: [
                    ("since", since), ("until", until), ("principal", principal), ("action", action), ("incident", incident),
                ])
            let fields = ["at", "principal", "role", "action", "incident_id", "target", "reason", "request_id", "client_address"]
            Output.emit(
                output, json: ["items": items, "next_cursor": cursor.map { $0 as Any } ?? NSNull()],
                columns: fields.map { $0.uppercased() }, rows: items.map { item in fields.map { Output.string(item[$0]) } })
        }
    }
}
