import ArgumentParser
import Foundation
import IncidentStore
import Logging

struct Token: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create, list and revoke API tokens (local database access).",
        discussion: "This is how the first admin token is made: TOKEN=$(incidentd token create --name ops --role admin)",
        subcommands: [Create.self, List.self, Revoke.self]
    )

    /// Opens the database (starting the embedded cluster if it is not running), applies
    /// migrations, runs `body`, and stops the cluster again if this command started it.
    static func withTokens<T: Sendable>(_ options: DatabaseOptions, _ body: (AccessTokens) async throws -> T) async throws -> T {
        try await Database.withMigratedPool(options) { pool, _ in try await body(AccessTokens(pool: pool)) }
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a token and print it, alone, on stdout (shown once).")
        @Option(help: "The token's name: the person or system it stands for.") var name: String
        @Option(help: "reporter, reviewer, analyst, admin, or metrics (reads /metrics only).") var role: String
        @Option(help: "Expire after a duration such as 90d, 12h or 30m; never: no expiry (must be said).") var expires = TokenExpiry.defaultText
        @OptionGroup var database: DatabaseOptions

        func validate() throws {
            guard Role(rawValue: role) != nil else { throw ValidationError("--role must be one of \(Role.spelled)") }
            if TokenExpiry.parse(expires) == nil { throw ValidationError("--expires must be \(TokenExpiry.usage)") }
        }

        func run() async throws {
            let expiresAt = TokenExpiry.parse(expires)!.expiresAt()
            let secret = try await Token.withTokens(database) { try await $0.create(name: name, role: Role(rawValue: role)!, expiresAt: expiresAt) }
            print(secret)
            let lifetime = expiresAt.map { "expires \(Date.ISO8601FormatStyle().format($0))" } ?? "never expires"
            FileHandle.standardError.write(Data("token '\(name)' (\(role)) created, \(lifetime); it is shown only this once\n".utf8))
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List tokens (never their secrets).")
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let tokens = try await Token.withTokens(database) { try await $0.list() }
            let format = Date.ISO8601FormatStyle()
            print("NAME\tROLE\tCREATED\tEXPIRES\tREVOKED")
            for token in tokens {
                print(
                    [
                        token.name, token.role.rawValue, format.format(token.createdAt), token.expiresAt.map(format.format) ?? "-",
                        token.revokedAt.map(format.format) ?? "-",
                    ].joined(separator: "\t"))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a token by name; it stops working at once.")
        @Argument(help: "The token's name.") var name: String
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            try await Token.withTokens(database) { try await $0.revoke(name: name) }
            FileHandle.standardError.write(Data("token '\(name)' revoked\n".utf8))
        }
    }
}
