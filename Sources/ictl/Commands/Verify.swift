import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1

struct Verify: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Verify an incident (reviewers); prints its id.")
    @OptionGroup var decision: DecisionOptions
    func run() async throws { try await decision.send("verified") }
}
