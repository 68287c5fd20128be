import Foundation
import Hummingbird
import HummingbirdTesting
import IncidentStore
import Testing

@testable import IncidentDaemon

/// Cells that a spreadsheet would run as formulas, as a server might send them in any text field.
private let hostile = ["=HYPERLINK(\"http://x\")", "+1", "-1", "@SUM(A1)", "\tTAB", "\rCR"]

/// How each must come out of a CSV writer: with a leading `'`, quoted where the cell needs it.
private let neutralized = ["\"'=HYPERLINK(\"\"http://x\"\")\"", "'+1", "'-1", "'@SUM(A1)", "'\tTAB", "\"'\rCR\""]

/// Every cell of `csv` (values without commas of their own), unquoted.
private func cells(_ csv: String) -> [String] {
    csv.split(separator: "\n").flatMap { $0.split(separator: ",", omittingEmptySubsequences: false) }.map { cell in
        var text = String(cell)
        if text.hasPrefix("\""), text.hasSuffix("\""), text.count >= 2 { text = String(text.dropFirst().dropLast()).replacingOccurrences(of: "\"\"", with: "\"") }
        return text
    }
}

/// A stand-in for incidentd that answers ictl's queries with hostile text in every text field,
/// so each of ictl's CSV and HXL writers is run by the real binary on it.
@Suite("Spreadsheet safety of every CSV and HXL writer (docs/cli.md, Output formats)")
struct SpreadsheetSafetyTests {
    static func digest() throws -> JSONValue {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let example = try JSONValue.parse(Data(contentsOf: root.appendingPathComponent("docs/examples/weekly-digest.json")))
        guard case .object(var digest) = example, case .array(var rows)? = digest["by_region"], case .object(let first)? = rows.first else {
            throw CancellationError()
        }
        for (index, text) in hostile.enumerated() {
            var row = first
            row["district_name"] = .string(text)
            row["municipality_name"] = .string(text)
            row["category"] = .string(text)
            rows.insert(.object(row), at: index)
        }
        digest["by_region"] = .array(rows)
        return .object(digest)
    }

    static func router() throws -> Router<BasicRequestContext> {
        let router = Router()
        let items: [JSONValue] = hostile.map { text in
            [
                "incident": [
                    "incident_id": .string(UUID().uuidString.lowercased()), "occurred_at": "2026-11-20", "municipality": .string(text),
                    "category": .string(text), "subcategory": "assault", "killed": 0, "injured": 0, "summary": .string(text),
                ],
                "status": "reported", "version": 1,
            ]
        }
        router.get("/v1/incidents") { _, _ in JSONResponse.make(.ok, ["items": .array(items), "next_cursor": .null]) }
        let rows: [JSONValue] = hostile.map { text in
            [
                "code": .string(text), "name": .string(text), "category": .string(text), "incidents": 1, "verified": 0, "killed": 0, "injured": 0, "abducted": 0,
                "displaced": 0,
            ]
        }
        router.get("/v1/summaries") { _, _ in
            JSONResponse.make(.ok, ["level": "district", "since": .null, "until": .null, "category": .null, "rows": .array(rows), "as_of": 1])
        }
        let tokens: [JSONValue] = hostile.map { text in
            ["name": .string(text), "role": .string(text), "created_at": .string(text), "expires_at": .string(text), "revoked_at": .null]
        }
        router.get("/v1/admin/tokens") { _, _ in JSONResponse.make(.ok, ["tokens": .array(tokens)]) }
        let digest = try digest()
        router.get("/v1/digests/weekly") { _, _ in JSONResponse.make(.ok, digest) }
        return router
    }

    @Test(
        "each writer prefixes =, +, -, @, tab and carriage return with '",
        arguments: [
            ["list", "--format", "csv"], ["list", "--format", "hxl"], ["summary", "--format", "csv"], ["summary", "--format", "hxl"],
            ["admin", "token", "list", "--format", "csv"], ["digest", "--week", "2026-W47", "--format", "csv"],
        ])
    func writer(_ command: [String]) async throws {
        let app = Application(router: try Self.router(), configuration: .init(address: .hostname("127.0.0.1", port: 0)))
        try await app.test(.live) { client in
            let port = try #require(client.port)
            let env = [
                "ICTL_SERVER": "http://127.0.0.1:\(port)", "ICTL_TOKEN": "il_stub", "ICTL_OUTBOX": FileManager.default.temporaryDirectory.path + "/outbox-\(UUID())",
            ]
            let result = try await run(Binaries.ictl, command, environment: env)
            #expect(result.status == 0, "\(command): \(result.stderr)")
            for cell in neutralized { #expect(result.stdout.contains(cell), "\(command) writes \(cell.debugDescription)") }
            let dangerous = cells(result.stdout).filter { cell in cell.unicodeScalars.first.map { "=+-@\t\r".unicodeScalars.contains($0) } ?? false }
            #expect(dangerous.isEmpty, "\(command): cells a spreadsheet would run: \(dangerous)")
        }
    }
}
