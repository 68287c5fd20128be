import ArgumentParser
import Foundation
import IncidentStore
import PostgresLibpq

extension Keys {
    /// `incidentd keys retire-outbox-key`: a new key pair for ictl's sealed outbox.
    struct RetireOutboxKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "retire-outbox-key",
            abstract: "Retire the key ictl seals its offline outbox to, and make a new one.",
            discussion: """
                The outbox key pair stays current until it is retired here (a master key rotation
                re-wraps it and keeps it). Envelopes sealed to a retired key are still opened for
                \(OutboxKeys.openableDaysAfterRetirement) days; after that they are refused (410
                outbox_key_expired) and stay in ictl's outbox/rejected/. Running daemons name the
                new key within 30 s, and each ictl takes it at its next successful command.
                Prints the new key's id alone on stdout.
                """
        )

        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let path = try database.masterKeySource().path
            let ring: KeyRing
            do {
                ring = KeyRing(try MasterKey.load(path: path))
            } catch let error as MasterKeyError {
                throw ValidationError(error.description)
            }
            let (retired, current) = try await Database.withMigratedPool(database, asOwner: true) { pool, _ in
                try await pool.withConnection { connection in
                    try connection.transaction { connection in
                        do {
                            try ring.attach(on: connection, path: path)
                        } catch let error as MasterKeyError {
                            throw ValidationError(error.description)
                        }
                        return try OutboxKeys(ring: ring).retireCurrent(on: connection)
                    }
                }
            }
            print(current.id)
            let what =
                retired.isEmpty ? "no key was current" : "retired \(retired.joined(separator: ", ")) (opened for \(OutboxKeys.openableDaysAfterRetirement) more days)"
            FileHandle.standardError.write(Data("incidentd: \(what); ictl now seals to \(current.id)\n".utf8))
        }
    }
}
