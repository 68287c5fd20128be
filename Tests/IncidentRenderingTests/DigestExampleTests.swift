import Foundation
import Testing

@testable import IncidentRendering

/// docs/examples holds a digest of the demo data as the daemon serves it and as `ictl digest` writes
/// it; rendering the JSON again must give the same bytes, so neither the docs nor the output drift.
@Suite("Digest rendering: docs/examples/weekly-digest.json renders to the example files byte for byte")
struct DigestExampleTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("docs/examples")

    static func example(_ name: String) throws -> String {
        try String(contentsOf: examples.appendingPathComponent(name), encoding: .utf8)
    }

    @Test("Markdown, HTML and CSV", arguments: ["md", "html", "csv"])
    func sameBytes(format: String) throws {
        let digest = try JSONDecoder().decode(DigestDocument.self, from: Data(try Self.example("weekly-digest.json").utf8))
        let rendered =
            switch format {
            case "md": DigestRendering.markdown(digest)
            case "html": DigestRendering.html(digest)
            default: DigestRendering.csv(digest)
            }
        let expected = try Self.example("weekly-digest." + format)
        #expect(rendered == expected, "regenerate docs/examples with ictl digest after a deliberate change")
    }
}
