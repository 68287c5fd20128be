import ArgumentParser
import Foundation
import NIOHTTP1

struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tokens, erasure, redaction, projection rebuilds, the access audit and subscriptions (admins).",
        discussion: """
            Examples:
              ictl admin token create --name field-prizren-1 --role reporter
              ictl admin audit --since 2026-11-01
              ictl admin subscription list
            """,
        subcommands: [TokenCommand.self, Erase.self, Redact.self, Rebuild.self, Audit.self, Subscription.self]
    )
}
