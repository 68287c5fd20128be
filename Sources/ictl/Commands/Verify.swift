import ArgumentParser
import Foundation
import NIOHTTP1
import NIOCore

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Verify an incident (reviewers); prints its id.")
    @OptionGroup var decision: DecisionOptions
    func run() async throws { try await decision.send("verified") }
}
