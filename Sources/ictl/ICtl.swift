import ArgumentParser
import Foundation
import NIOHTTP1

@main
struct ICtl: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ictl",
        abstract: "Report and query incidents in the Incident Log.",
        discussion: """
            Server and token come from --server/--token, ICTL_SERVER/ICTL_TOKEN, or the file that `ictl login` \
            writes. Write commands print the affected incident id alone on stdout; messages go to stderr. When \
            the daemon cannot be reached, writes are kept in an offline outbox (exit 75), sealed to the server's \
            key, and sent by `ictl outbox sync` or the next successful command; log in once while online first \
            (`ictl login` stores the key). Plain http:// goes only to this machine (localhost, 127.0.0.0/8, \
            ::1); another server needs https://, or --insecure (ICTL_INSECURE=1) to send in the clear.

            Query commands print a table on a terminal, fitted to its width (--wide for every column), with \
            colour unless NO_COLOR is set or --color never is given, and JSON otherwise (--format \
            table|json|csv|hxl). Shell completion: `ictl --generate-completion-script bash|zsh|fish`.

            Exit codes:
              0   ok
              64  usage error (also: plain http to another machine without --insecure)
              65  input rejected by the server (validation)
              66  not found
              69  daemon unreachable (for a write: and no server key stored to keep it
                  offline)
              75  stored in the offline outbox
              76  conflict (stale expected version, idempotency conflict)
              77  not authorized (missing, revoked or expired token; role may not do this)
              1   anything else

            Examples:
              ictl login --server https://incidents.example.org --token-stdin < token
              ictl list --district mitrovica --limit 10
              ictl show ID --history
              ictl help report
            """,

        subcommands: [
            Report.self, Import.self, Amend.self, Verify.self, Reject.self, Retract.self, Show.self, List.self, Log.self, Tail.self,
            Summary.self, Digest.self, Regions.self, Taxonomy.self, OutboxCommand.self, Login.self, Admin.self,
        ]
    )
}
