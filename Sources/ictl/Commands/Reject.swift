import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1

struct Reject: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Reject an incident (reviewers); prints its id.", usage: "ictl reject <id> --note <text> [--expected-version <n>] [<options>]",
        discussion: """
            A reviewer's decision, with a note; a rejected incident stays in the log and drops out of every \
            figure. Without --expected-version the current version is fetched first.

            Example:
              ictl reject ID --note 'could not be corroborated'
            """
    )
    @OptionGroup var decision: DecisionOptions
    func run() async throws { try await decision.send("rejected") }
}
