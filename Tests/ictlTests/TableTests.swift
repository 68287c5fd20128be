import Foundation
import Testing

@testable import ictl

/// Tables for a person: fitted to the terminal's width, columns left out in their order, free text
/// truncated with …, colour only when the terminal has it.
@Suite struct TableTests {
    nonisolated(unsafe) static let items: [[String: Any]] = (0..<4).map { index in
        [
            "status": ["verified", "reported", "rejected", "retracted"][index], "version": index + 1,
            "incident": [
                "incident_id": UUID().uuidString.lowercased(), "occurred_at": "2026-11-2\(index)", "municipality": "XK-MIT-0\(index + 1)",
                "category": "ethnic_violence", "subcategory": "religious_cultural_site", "killed": index, "injured": 0,
                "summary": String(repeating: "Gravestones in an Orthodox cemetery were damaged. ", count: index + 1),
            ] as [String: Any],
        ]
    }
    static let names = ReferenceNames(regions: ["XK-MIT-01": "Mitrovicë e Jugut/Južna Mitrovica", "XK-MIT-02": "Leposaviq/Leposavić"])

    @Test("no line is wider than the terminal", arguments: [40, 60, 80, 100, 120, 160, 200, 300])
    func fitsTheWidth(width: Int) {
        let lines = incidentTable(Self.items, names: Self.names).lines(on: Terminal(width: width, colour: false))
        #expect(lines.count == 5)
        #expect(lines.allSatisfy { $0.count <= width }, "\(lines)")
        #expect(lines[0].hasPrefix("ID"))
    }

    @Test func narrowTerminalsKeepIdDateStatusAndSummary() {
        let lines = incidentTable(Self.items, names: Self.names).lines(on: Terminal(width: 80, colour: false))
        #expect(lines[0].split(separator: " ", omittingEmptySubsequences: true) == ["ID", "OCCURRED", "STATUS", "SUMMARY"])
        #expect(lines[2].hasSuffix("…"))
    }

    @Test func wideTerminalsShowNamesBesideCodesAndWideShowsEverything() {
        let wide = incidentTable(Self.items, names: Self.names).lines(on: Terminal(width: 80, colour: false), wide: true)
        #expect(wide[0].contains("VERSION") && wide[1].contains("XK-MIT-01 Mitrovicë e Jugut/Južna Mitrovica") && !wide.joined().contains("…"))
        let roomy = incidentTable(Self.items, names: Self.names).lines(on: Terminal(width: 400, colour: false))
        #expect(roomy[1].contains("XK-MIT-01 Mitrovicë e Jugut/Južna Mitrovica") && !roomy[0].contains("VERSION"))
        let middle = incidentTable(Self.items, names: Self.names).lines(on: Terminal(width: 160, colour: false))
        #expect(
            middle[0].contains("MUNICIPALITY") && middle[1].contains("XK-MIT-01") && middle[1].contains("religious_cult") && !middle[1].contains("ethnic_violence"),
            "the sub-category stands for the category")
    }

    @Test func colourOnlyWhenTheTerminalHasIt() {
        let table = incidentTable(Self.items, names: Self.names)
        #expect(!table.lines(on: Terminal(width: 120, colour: false)).joined().contains("\u{1B}"))
        let painted = table.lines(on: Terminal(width: 120, colour: true))
        #expect(painted[1].contains("\u{1B}[32mverified\u{1B}[0m"))
        #expect(painted[0].hasPrefix("\u{1B}[1mID"))
    }

    @Test func widthFromColumnsAndColourFromTheChoiceAndNoColor() {
        #expect(Terminal.standardOutput(environment: ["COLUMNS": "100"]).width == 100)
        #expect(Terminal.standardOutput(environment: [:]).width == nil, "the test's stdout is not a terminal")
        #expect(!Terminal.standardOutput(colour: .auto, environment: [:]).colour)
        #expect(Terminal.standardOutput(colour: .always, environment: ["NO_COLOR": "1"]).colour)
        #expect(!Terminal.standardOutput(colour: .never, environment: [:]).colour)
    }

    @Test func readableNumbersAndWrapping() {
        #expect(Output.readable(NSNumber(value: 4.0)) == "4")
        #expect(Output.readable(NSNumber(value: 20.783900000000003)) == "20.7839")
        #expect(Output.readable(NSNumber(value: 42.1234567)) == "42.123457")
        #expect(Output.readable([String]()) == "—" && Output.readable(["roma", "serb"]) == "roma, serb")
        let wrapped = Output.wrap(String(repeating: "word ", count: 40), width: 40, indent: "  ")
        #expect(wrapped.count > 1 && wrapped.allSatisfy { $0.count <= 40 && $0.hasPrefix("  ") })
    }
}
