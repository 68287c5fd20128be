import Foundation
import Testing

@testable import ictl

/// Tables, CSV and HXL, and the JSON ictl prints: built by ``Output/lines(_:json:columns:rows:hxl:)``.
@Suite struct OutputTests {
    @Test func tableAlignsClipsAndTrims() {
        let long = String(repeating: "x", count: 70)
        let lines = Output.lines(.table, json: [:], columns: ["ID", "NAME", "NOTE"], rows: [["1", "Peja", ""], ["22", long, "ok"]])
        #expect(lines.count == 3)
        #expect(lines[0] == "ID  NAME" + String(repeating: " ", count: 56) + "  NOTE")
        #expect(lines[1] == "1   Peja")
        #expect(lines[2] == "22  " + String(repeating: "x", count: 59) + "…  ok")
    }

    @Test func csvAndHXLHaveAHeaderAndForHXLATagRow() {
        let rows = [["XK01", "=cmd"]]
        #expect(Output.lines(.csv, json: [:], columns: ["CODE", "NAME"], rows: rows) == ["CODE,NAME", "XK01,'=cmd"])
        #expect(
            Output.lines(.hxl, json: [:], columns: ["CODE", "NAME"], rows: rows, hxl: ["#adm1+code", "#adm1+name"])
                == ["CODE,NAME", "#adm1+code,#adm1+name", "XK01,'=cmd"])
        #expect(Output.lines(.hxl, json: [:], columns: ["CODE", "NAME"], rows: []) == ["CODE,NAME", "#meta,#meta"])
    }

    @Test func jsonIsSortedPrettyAndKeepsSlashes() throws {
        let lines = Output.lines(.json, json: ["b": 1, "a": "http://x/y"], columns: [], rows: [])
        #expect(lines.count == 1)
        let text = try #require(lines.first)
        #expect(text.contains("\"http://x/y\""))
        let a = try #require(text.range(of: "\"a\"")), b = try #require(text.range(of: "\"b\""))
        #expect(a.lowerBound < b.lowerBound)
        #expect(text.contains("\n"))
    }

    @Test func valuesAndIncidentRows() {
        #expect(Output.string(nil) == "")
        #expect(Output.string(NSNull()) == "")
        #expect(Output.string(NSNumber(value: 3)) == "3")
        #expect(Output.string("text") == "text")
        let row = incidentRow([
            "status": "verified", "version": 2,
            "incident": ["incident_id": "abc", "category": "unrest", "subcategory": "riot", "summary": "one\ntwo", "killed": 1] as [String: Any],
        ])
        #expect(row == ["abc", "", "", "unrest/riot", "verified", "2", "1", "", "one two"])
        #expect(row.count == incidentColumns.count && incidentHXL.count == incidentColumns.count)
    }
}
