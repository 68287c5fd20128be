import ArgumentParser
import Foundation
import IncidentAPI
import NIOHTTP1

extension Subscription {
    /// `ictl admin subscription create`: `POST /v1/admin/subscriptions`.
    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a subscription; for a webhook prints its signing secret (shown once).",
            usage: "ictl admin subscription create <name> --webhook <url>|--pull [<options>]",
            discussion: """
                Filters narrow what is delivered; none given delivers every event. Each list flag may be \
                repeated, and an event must match one value of every flag given. Regions are codes or names, \
                stored as codes. A webhook's signing secret is printed alone on stdout, this once: hand it to \
                the receiver, which checks the webhook-signature header with it. A pull subscription is read \
                only by the tokens --consumer names.

                Examples:
                  ictl admin subscription create killings \\
                      --webhook https://hooks.example.org/incidents \\
                      --category ethnic_violence --min-killed 1 > killings.secret
                  ictl admin subscription create mitrovica-feed --pull \\
                      --consumer dashboards --district mitrovica --start beginning
                """
        )
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var subscription: SubscriptionName
        @Option(help: ArgumentHelp("Deliver by POST to this https URL.", valueName: "url")) var webhook: String?
        @Flag(help: "Keep the events for pull consumers (GET /v1/subscriptions/NAME/events).") var pull = false
        @Option(name: .customLong("category"), help: ArgumentHelp("Only this category (code); repeatable.", valueName: "code"))
        var categories: [String] = []
        @Option(name: .customLong("subcategory"), help: ArgumentHelp("Only this sub-category (code); repeatable.", valueName: "code"))
        var subcategories: [String] = []
        @Option(name: .customLong("municipality"), help: ArgumentHelp("Only this municipality (code or name); repeatable.", valueName: "m"))
        var municipalities: [String] = []
        @Option(name: .customLong("district"), help: ArgumentHelp("Only this district (code or name); repeatable.", valueName: "d"))
        var districts: [String] = []
        @Option(
            name: .customLong("event-type"),
            help: ArgumentHelp("Only this log event type (IncidentReported, IncidentAmended, ...); repeatable. Default: all.", valueName: "type"))
        var eventTypes: [String] = []
        @Option(
            name: .customLong("status"), help: ArgumentHelp("Only incidents in this status (reported, verified, rejected, retracted); repeatable.", valueName: "s"))
        var statuses: [String] = []
        @Option(help: ArgumentHelp("Only incidents with at least N killed.", valueName: "n")) var minKilled: Int?
        @Option(help: ArgumentHelp("Only incidents with at least N killed and injured together.", valueName: "n")) var minCasualties: Int?
        @Option(help: ArgumentHelp("now (the default): new events only; beginning: the whole log; or a checkpoint to start after.", valueName: "where"))
        var start: String?
        @Option(name: .customLong("consumer"), help: ArgumentHelp("A token's name that may read a pull subscription; repeatable.", valueName: "token-name"))
        var consumers: [String] = []
        @Flag(help: "Also deliver confidential incidents, as an admin sees them (never personal data).") var includeConfidential = false

        func validate() throws {
            switch (webhook, pull) {
            case (nil, false): throw ValidationError("give --webhook URL or --pull: where the events go")
            case (.some, true): throw ValidationError("give --webhook URL or --pull, not both")
            case (let url?, false):
                guard let parsed = URL(string: url), ["https", "http"].contains(parsed.scheme?.lowercased() ?? ""), !(parsed.host ?? "").isEmpty else {
                    throw ValidationError("--webhook takes an https:// URL, not '\(url)'")
                }
                if !consumers.isEmpty { throw ValidationError("--consumer goes with --pull: a webhook has no consumers") }
            case (nil, true):
                if consumers.isEmpty { throw ValidationError("--pull needs --consumer TOKEN_NAME: only the tokens a pull subscription names may read it") }
            }
            for (flag, value) in [("--min-killed", minKilled), ("--min-casualties", minCasualties)] {
                if let value, value < 0 { throw ValidationError("\(flag) must be 0 or more") }
            }
            if start?.isEmpty == true { throw ValidationError("--start takes now, beginning or a checkpoint") }
            for (flag, _, values) in listFilters + [("--consumer", "consumers", consumers)]
            where values.contains(where: { $0.trimmingCharacters(in: .whitespaces).isEmpty }) {
                throw ValidationError("\(flag) takes a value, not an empty one")
            }
        }

        /// The filter's list members: each flag, the member of `filter` it sets, the values given.
        var listFilters: [(flag: String, key: String, values: [String])] {
            [
                ("--category", "categories", categories), ("--subcategory", "subcategories", subcategories),
                ("--municipality", "municipalities", municipalities), ("--district", "districts", districts),
                ("--event-type", "event_types", eventTypes), ("--status", "statuses", statuses),
            ]
        }

        /// The body of `POST /v1/admin/subscriptions` these flags make: JSON, keys sorted. Only
        /// the filter members given are sent; the daemon's defaults (start now, no confidential
        /// incidents) hold for what is left out.
        func requestBody() throws -> Data {
            var filter: [String: Any] = [:]
            for (_, key, values) in listFilters where !values.isEmpty { filter[key] = values }
            if let minKilled { filter["min_killed"] = minKilled }
            if let minCasualties { filter["min_casualties"] = minCasualties }
            var body: [String: Any] = [
                "name": subscription.name, "filter": filter, "target": webhook.map { ["kind": "webhook", "url": $0] } ?? ["kind": "pull"],
            ]
            if let start { body["start"] = start }
            if !consumers.isEmpty { body["consumers"] = consumers }
            if includeConfidential { body["include_confidential"] = true }
            return try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys, .withoutEscapingSlashes])
        }

        /// The flag the user typed for a field the daemon names (`filter.categories` -> `--category`).
        var flags: [String: String] {
            var flags = [
                "name": "NAME", "filter.min_killed": "--min-killed", "filter.min_casualties": "--min-casualties", "start": "--start",
                "consumers": "--consumer", "target": "--webhook", "target.url": "--webhook", "include_confidential": "--include-confidential",
            ]
            for (flag, key, _) in listFilters { flags["filter." + key] = flag }
            return flags
        }

        func run() async throws {
            try await runCommand {
                let response = try await connection.client.send(.POST, "/v1/admin/subscriptions", json: try requestBody())
                let created = try response.succeeded(naming: flags).json ?? [:]
                let name = subscription.name
                let delivery = webhook.map { "to \($0)" } ?? "for " + consumers.joined(separator: ", ")
                note("subscription '\(name)' created: delivers \(delivery), from \(start ?? "now")")
                guard webhook != nil else { return }
                guard let secret = created["secret"] as? String else {
                    throw CLIError(code: Exit.other, message: "the daemon created '\(name)' but sent no signing secret; delete it and create it again")
                }
                note("warning: the webhook's signing secret is printed on stdout this once and can never be shown again; keep it for the receiver now")
                print(secret)
            }
        }
    }
}
