import ArgumentParser
import Foundation
import NIOHTTP1

extension Subscription {
    /// `ictl admin subscription dead-letters NAME`: `GET /v1/admin/subscriptions/{name}/dead-letters`.
    struct DeadLetters: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List a webhook's dead letters: events that failed every try.",
            usage: "ictl admin subscription dead-letters <name> [<options>]",
            discussion: """
                Delivery goes on past a dead letter; `retry` sends one again. On a narrow terminal the \
                position, the next attempt and the attempts are left out; the event id is always whole.

                Examples:
                  ictl admin subscription dead-letters killings
                  ictl admin subscription dead-letters killings --format csv > dead.csv
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: FormatOption
        @OptionGroup var subscription: SubscriptionName

        func run() async throws {
            try await runCommand {
                let response = try await query(connection.client, Subscription.path(subscription.name, "/dead-letters"))
                let letters = response.objects("dead_letters")
                Output.emit(
                    output, json: response.json ?? [:], columns: SubscriptionRows.deadLetterColumns, rows: letters.map(SubscriptionRows.deadLetterRow),
                    table: SubscriptionRows.deadLetterTable(letters))
            }
        }
    }

    /// `ictl admin subscription retry NAME EVENT_ID`: `POST …/{name}/dead-letters/{event_id}:retry`.
    struct Retry: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send a dead letter again, with a fresh set of tries.",
            usage: "ictl admin subscription retry <name> <event-id> [<options>]",
            discussion: """
                The daemon sends it before the subscription's next event, its tries counted afresh; \
                `dead-letters` shows it as retrying until it is delivered or dead again.

                Example:
                  ictl admin subscription retry killings 0193a4c2-6f1e-7b3d-9a52-4c1e8f0b2d17
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var subscription: SubscriptionName
        @Argument(help: "The dead letter's event id (a UUID, as dead-letters lists it).") var eventID: String

        func validate() throws {
            guard UUID(uuidString: eventID) != nil else { throw ValidationError("'\(eventID)' is not an event id (a UUID, as dead-letters lists it)") }
        }

        func run() async throws {
            try await runCommand {
                let path = Subscription.path(subscription.name, "/dead-letters/\(eventID.lowercased()):retry")
                _ = try await Subscription.change(try connection.client, .POST, path)
                note("retrying event \(eventID.lowercased()) of subscription '\(subscription.name)'")
            }
        }
    }
}
