import ArgumentParser
import Foundation
import NIOHTTP1

extension Subscription {
    /// `ictl admin subscription pause NAME`: `POST /v1/admin/subscriptions/{name}:pause`.
    struct Pause: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Pause a subscription: nothing is delivered until it is resumed; its place in the log is kept.",
            usage: "ictl admin subscription pause <name> [<options>]",
            discussion: """
                Events that match meanwhile wait; `resume` delivers them in order.

                Example:
                  ictl admin subscription pause killings
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var subscription: SubscriptionName

        func run() async throws {
            try await runCommand {
                let answer = try await Subscription.change(try connection.client, .POST, Subscription.path(subscription.name, ":pause"))
                note("subscription '\(subscription.name)' \(Output.string(answer["state"]))")
            }
        }
    }

    /// `ictl admin subscription resume NAME`: `POST /v1/admin/subscriptions/{name}:resume`.
    struct Resume: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Resume a paused subscription from where it stopped.",
            usage: "ictl admin subscription resume <name> [<options>]",
            discussion: """
                Example:
                  ictl admin subscription resume killings
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var subscription: SubscriptionName

        func run() async throws {
            try await runCommand {
                let answer = try await Subscription.change(try connection.client, .POST, Subscription.path(subscription.name, ":resume"))
                note(
                    "subscription '\(subscription.name)' \(Output.string(answer["state"])), \(Output.readable(answer["lag_events"])) event(s) in the log after its checkpoint"
                )
            }
        }
    }

    /// `ictl admin subscription delete NAME`: `DELETE /v1/admin/subscriptions/{name}`.
    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a subscription, its place in the log and its dead letters.",
            usage: "ictl admin subscription delete <name> [<options>]",
            discussion: """
                The log itself is untouched; a subscription made again under the same name starts where \
                its --start says, with a new secret.

                Example:
                  ictl admin subscription delete killings
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var subscription: SubscriptionName

        func run() async throws {
            try await runCommand {
                _ = try await Subscription.change(try connection.client, .DELETE, Subscription.path(subscription.name))
                note("subscription '\(subscription.name)' deleted")
            }
        }
    }
}
