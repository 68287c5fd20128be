import ArgumentParser
import Foundation
import Logging

@main
struct Incidentd: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "incidentd",
        abstract: "The Incident Log daemon: an append-only incident log on PostgreSQL.",
        discussion: """
            With no database configured (--database-url, INCIDENT_DATABASE_URL or libpq's PG*
            variables), incidentd runs an embedded PostgreSQL cluster in --data-dir.
            """,
        subcommands: [Serve.self, Migrate.self, Token.self, Keys.self, Demo.self, Restore.self],
        defaultSubcommand: Serve.self
    )
}
