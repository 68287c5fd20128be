import ArgumentParser
import Foundation
import IncidentRendering
import NIOHTTP1

struct Digest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The weekly digest: Markdown, self-contained HTML with charts, JSON or CSV with HXL tags.",
        usage: "ictl digest [--week <w>] [--format <f>] [--output <file>] [<options>]",
        discussion: """
            --output is written atomically (a temporary file, then a rename): readers never see half a digest. \
            On any failure: one line on stderr, nothing on stdout, a non-zero exit. On a terminal a spinner \
            shows on stderr while the daemon answers.

            Examples:
              ictl digest --week last --format html --output /srv/digests/latest.html
              ictl digest --week 2026-W48 --format markdown
            """
    )
    @OptionGroup var connection: ConnectionOptions
    @Option(help: "ISO week, e.g. 2026-W48, or last (the last complete week).") var week = "last"
    @Option(help: "markdown, html, json or csv.") var format: DigestFormat = .markdown
    @Option(help: "Write to this file instead of stdout.") var output: String?

    enum DigestFormat: String, ExpressibleByArgument, CaseIterable { case markdown, html, json, csv }

    func run() async throws {
        try await runCommand {
            let response = try await withSpinner("asking for the digest") {
                try await query(connection.client, "/v1/digests/weekly?week=" + (week.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
            }
            let text: String
            if format == .json {
                text = String(decoding: response.body, as: UTF8.self)
            } else {
                let digest: DigestDocument
                do {
                    digest = try JSONDecoder().decode(DigestDocument.self, from: response.body)
                } catch {
                    throw CLIError(code: Exit.other, message: "the daemon's digest could not be read (\(error)); are ictl and incidentd the same version?")
                }
                text =
                    switch format {
                    case .markdown: DigestRendering.markdown(digest)
                    case .html: DigestRendering.html(digest)
                    case .csv: DigestRendering.csv(digest)
                    case .json: ""
                    }
            }
            guard let output else {
                print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
                return
            }
            try writeAtomically(Data(text.utf8), to: output)
            // Cron mails whatever a job prints: on success, say nothing unless someone is watching.
            if isatty(STDERR_FILENO) == 1 { note("wrote \(output)") }
        }
    }
}
