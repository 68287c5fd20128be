import ArgumentParser
import Foundation

extension Subscription {
    /// `ictl admin subscription list`: `GET /v1/admin/subscriptions`.
    struct ListSubscriptions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "list", abstract: "List subscriptions: state, target, lag, deliveries, dead letters.",
            usage: "ictl admin subscription list [<options>]",
            discussion: """
                LAG counts the log's events after the subscription's checkpoint, matching or not; DEAD \
                counts the dead letters. On a narrow terminal the last error, the outcome, the delivered \
                count and the last delivery's time are left out in that order.

                Examples:
                  ictl admin subscription list
                  ictl admin subscription list --format json | jq '.subscriptions[].lag_events'
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: FormatOption

        func run() async throws {
            try await runCommand {
                let response = try await query(connection.client, "/v1/admin/subscriptions")
                let subscriptions = response.objects("subscriptions")
                Output.emit(
                    output, json: response.json ?? [:], columns: SubscriptionRows.columns, rows: subscriptions.map(SubscriptionRows.row),
                    table: SubscriptionRows.table(subscriptions))
            }
        }
    }

    /// `ictl admin subscription show NAME`: `GET /v1/admin/subscriptions/{name}`.
    struct ShowSubscription: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show", abstract: "Show one subscription: its filter, state, lag, last delivery and failures.",
            usage: "ictl admin subscription show <name> [<options>]",
            discussion: """
                On a terminal the subscription is laid out in two sections: what it delivers and where, \
                and how far delivery got (lag, counts, the last delivery, the failures of the event being \
                tried, the checkpoint).

                Examples:
                  ictl admin subscription show killings
                  ictl admin subscription show killings --format json | jq .failures
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var output: FormatOption
        @OptionGroup var subscription: SubscriptionName

        func run() async throws {
            try await runCommand {
                let client = try connection.client
                let json = try await query(client, Subscription.path(subscription.name)).json ?? [:]
                guard output.resolved == .table else {
                    return Output.emit(output, json: json, columns: SubscriptionRows.columns, rows: [SubscriptionRows.row(json)])
                }
                let filter = json["filter"] as? [String: Any] ?? [:]
                let given = { (key: String) in !((filter[key] as? [Any])?.isEmpty ?? true) }
                let names = await ReferenceNames.fetch(
                    client, regions: given("municipalities") || given("districts"), taxonomy: given("categories"))
                for line in SubscriptionCard(subscription: json, names: names, terminal: output.terminal).lines() { print(line) }
            }
        }
    }
}
