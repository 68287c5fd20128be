import ArgumentParser
import Foundation
import NIOHTTP1

struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Tokens, erasure, redaction, projection rebuilds and the access audit (admins).",
        subcommands: [TokenCommand.self, Erase.self, Redact.self, Rebuild.self, Audit.self])
}
