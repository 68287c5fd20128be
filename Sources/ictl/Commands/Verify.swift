import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Verify an incident (reviewers); prints its id.", usage: "ictl verify <id> --note <text> [--expected-version <n>] [<options>]",
        discussion: """
            A reviewer's decision, with a note; a later decision may change it. Without --expected-version the \
            current version is fetched first.

            Examples:
              ictl verify ID --note 'confirmed by the police'
              ictl verify ID --expected-version 2 --note 'second source'
            """
    )
    @OptionGroup var decision: DecisionOptions
    func run() async throws { try await decision.send("verified") }
}
