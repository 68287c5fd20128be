import ArgumentParser
import Foundation
import IncidentStore
import Logging

/// `incidentd keys`: the master key that wraps every key the database stores.
struct Keys: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Create or rotate the master key.",
        discussion: """
            The master key (32 bytes in a file, mode 0600) wraps every key the database stores:
            a database dump alone opens nothing. Keep it, and the erasure ledger beside it
            (<file>.erasures), apart from the database backups: whoever holds both holds everything.
            """,
        subcommands: [Init.self, Rotate.self, RetireOutboxKey.self]
    )

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a new master key file; never overwrites one (exit 73).",
            discussion: "Prints the new key's id (a fingerprint, not the key) alone on stdout."
        )

        @Option(help: ArgumentHelp("Where to create the key.", valueName: "file")) var masterKeyFile: String

        func run() throws {
            do {
                let key = try MasterKey.create(path: masterKeyFile)
                print(key.id)
                FileHandle.standardError.write(Data("incidentd: created the master key \(masterKeyFile) (id \(key.id)); back it up apart from the database\n".utf8))
            } catch let error as MasterKeyError {
                FileHandle.standardError.write(Data("incidentd: \(error)\n".utf8))
                throw ExitCode(73)
            }
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Re-wrap every stored key under a new master key.",
            discussion: """
                Give the key the database uses now as --master-key-file and a new one (made with
                `incidentd keys init`) as --new-master-key-file. Daemons may keep running: they load
                the new key from the path given here (the same path on every host that runs one) and
                accept keys wrapped by either while the rotation runs. Keys are re-wrapped in short
                transactions; after a crash, run the same command again to finish. Afterwards start
                daemons with the new key and remove the old one. The log is not touched.
                """
        )

        @Option(help: ArgumentHelp("The new master key file.", valueName: "file")) var newMasterKeyFile: String
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let oldPath = try database.masterKeySource().path
            let absolute = { (path: String) in URL(fileURLWithPath: path).standardizedFileURL.path }
            let old: MasterKey, new: MasterKey
            do {
                old = try MasterKey.load(path: oldPath)
                new = try MasterKey.load(path: newMasterKeyFile)
            } catch let error as MasterKeyError {
                throw ValidationError(error.description)
            }
            let count = try await Database.withMigratedPool(database, asOwner: true) { pool, _ in
                do {
                    return try await KeyRotation(pool: pool, old: old, oldPath: absolute(oldPath), new: new, newPath: absolute(newMasterKeyFile)).run { done in
                        FileHandle.standardError.write(Data("incidentd: re-wrapped \(done) keys\n".utf8))
                    }
                } catch let error as KeyRotationError {
                    throw ValidationError(error.description)
                }
            }
            // The ledger goes with the key: the new key's ledger holds every erasure the old one did.
            let copied = try ErasureLedger(path: newMasterKeyFile + ".erasures").merge(ErasureLedger(path: oldPath + ".erasures").entries())
            FileHandle.standardError.write(
                Data(
                    "incidentd: rotation done: \(count) keys now wrapped by \(new.id); \(copied) erasures copied to \(newMasterKeyFile).erasures; start daemons with --master-key-file \(newMasterKeyFile), then remove \(oldPath)\n"
                        .utf8))
        }
    }
}
