import ArgumentParser
import Foundation
import IncidentAPI
import NIOHTTP1

/// `ictl admin subscription`: subscriptions that deliver the log's events to a webhook or to pull
/// consumers (`/v1/admin/subscriptions`, docs/subscriptions.md).
struct Subscription: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Manage subscriptions: webhooks and pull feeds of the log's events.",
        discussion: """
            A subscription delivers the events its filter matches, in log order, to a webhook (signed, \
            retried, then kept as a dead letter) or to pull consumers (the tokens it names).

            Examples:
              ictl admin subscription create killings \\
                --webhook https://hooks.example.org/x --category ethnic_violence
              ictl admin subscription list
              ictl admin subscription dead-letters killings
            """,
        subcommands: [Create.self, ListSubscriptions.self, ShowSubscription.self, Pause.self, Resume.self, Delete.self, DeadLetters.self, Retry.self]
    )

    /// The path of subscription `name`, and of `suffix` under it (`:pause`, `/dead-letters`).
    static func path(_ name: String, _ suffix: String = "") -> String { "/v1/admin/subscriptions/" + name + suffix }

    /// Sends a change of subscription `name` and returns the answer's JSON; a non-2xx answer
    /// becomes its exit code (404 -> 66) and the server's message.
    static func change(_ client: Client, _ method: HTTPMethod, _ path: String, json: Data? = nil) async throws -> [String: Any] {
        try await client.send(method, path, json: json).succeeded().json ?? [:]
    }
}

/// The subscription a command acts on: its first argument.
struct SubscriptionName: ParsableArguments {
    @Argument(help: ArgumentHelp("The subscription's name: " + SubscriptionNames.rule + "."))
    var name: String

    func validate() throws {
        guard SubscriptionNames.isValid(name) else {
            throw ValidationError("'\(name)' is not a subscription name: " + SubscriptionNames.rule)
        }
    }
}
