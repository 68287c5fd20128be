import ArgumentParser
import Foundation
import NIOHTTP1

struct OutboxCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "outbox",
        abstract: "Requests kept, sealed, while the daemon could not be reached.",
        discussion: """
            Each queued request is sealed (HPKE) to the server's outbox key, which `ictl login` and every later \
            successful command keep current; only the queued time, command, incident id, attempts and last error \
            are outside the seal. Rejected requests stay sealed in outbox/rejected/ for 30 days.

            Examples:
              ictl outbox list
              ictl outbox sync
            """,

        subcommands: [ListQueued.self, Sync.self, Purge.self]
    )

    struct ListQueued: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List queued requests, oldest first, then rejected ones.",
            discussion: """
                Example:
                  ictl outbox list --format json
                """
        )
        @OptionGroup var output: FormatOption

        func run() async throws {
            let outbox = Outbox.opened()
            let entries = outbox.entries().map { ("queued", $0) } + outbox.rejected().map { ("rejected", $0) }
            let time = { (date: Date?) in date.map { ISO8601DateFormatter().string(from: $0) } }
            let json = entries.map { state, entry -> [String: Any] in
                [
                    "id": entry.id, "state": state, "queued_at": time(entry.queuedAt) ?? "", "command": entry.command,
                    "incident_id": entry.incidentID ?? NSNull(), "attempts": entry.attempts, "last_error": entry.lastError ?? NSNull(),
                    "rejected_at": time(entry.rejectedAt) ?? NSNull(),
                ]
            }
            let columns = ["ID", "STATE", "QUEUED", "COMMAND", "INCIDENT", "ATTEMPTS", "LAST ERROR"]
            let rows = entries.map { state, entry in
                [entry.id, state, time(entry.queuedAt) ?? "", entry.command, entry.incidentID ?? "", String(entry.attempts), entry.lastError ?? ""]
            }
            Output.emit(
                output, json: json, columns: columns, rows: rows,
                table: Table(titles: columns, rows: rows, flexible: [("LAST ERROR", 16)], dropping: ["ATTEMPTS", "COMMAND", "LAST ERROR", "INCIDENT"]))
        }
    }

    struct Sync: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send queued requests; each is stored once, however often this runs.", usage: "ictl outbox sync [<options>]",
            discussion: """
                A progress bar shows on stderr on a terminal. Exit 69 when some stay queued, 65 when some were \
                rejected.

                Example:
                  ictl outbox sync
                """
        )
        @OptionGroup var connection: ConnectionOptions

        func run() async throws {
            try await runCommand {
                let outbox = Outbox.opened()
                let before = outbox.entries().count
                let progress = Progress(total: before)
                let result = try await outbox.sync(with: connection.client, progress: progress)
                progress.finish()
                for (entry, response) in result.delivered {
                    note("delivered: \(entry.label)" + (response.status == 200 ? " (already stored)" : ""))
                }
                for (entry, response) in result.rejected {
                    note("rejected: \(entry.label): \(response.errorMessage) (kept sealed in \(outbox.rejectedDirectory))")
                }
                note("\(result.delivered.count) of \(before) delivered, \(result.rejected.count) rejected, \(result.remaining) still queued")
                if result.remaining > 0 {
                    throw CLIError(code: Exit.unreachable, message: "the daemon cannot be reached or is not ready; \(result.remaining) request(s) stay queued")
                }
                if !result.rejected.isEmpty { throw ExitCode(Exit.rejected) }
            }
        }
    }

    struct Purge: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete the rejected requests now (they are deleted 30 days after rejection anyway).",
            discussion: """
                Example:
                  ictl outbox purge
                """
        )

        func run() async throws {
            let count = Outbox.opened().purgeRejected()
            note("deleted \(count) rejected request(s)")
        }
    }
}
