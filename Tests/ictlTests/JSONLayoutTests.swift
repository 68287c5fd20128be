import Foundation
import Testing

@testable import ictl

/// The JSON ictl prints: the conventional layout, sorted keys, scalars as JSONSerialization writes them.
@Suite struct JSONLayoutTests {
    @Test func conventionalLayoutWithEmptyContainersOnOneLine() {
        let json: [String: Any] = ["tags": [Any](), "b": ["x": 1, "a": NSNull()], "a": [true, 2.5, "s"], "empty": [String: Any]()]
        #expect(
            JSONLayout.text(json) == """
                {
                  "a": [
                    true,
                    2.5,
                    "s"
                  ],
                  "b": {
                    "a": null,
                    "x": 1
                  },
                  "empty": {},
                  "tags": []
                }
                """)
        #expect(JSONLayout.text([Any]()) == "[]")
    }

    @Test("strings holding separators, quotes, slashes and other scripts are written as JSON strings, unchanged")
    func stringsAreEscapedNotLaidOut() throws {
        let tricky = "a \" : b\n\t{\"k\" : [\n]} http://x/y Mitrovicë/Mitrovica \u{1}"
        let text = JSONLayout.text(["k\" : v": tricky, "summary": "x : y"])
        #expect(text.contains("\"summary\": \"x : y\""))
        #expect(text.contains("http://x/y"))
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String])
        #expect(parsed == ["k\" : v": tricky, "summary": "x : y"])
    }

    @Test("the same document as JSONSerialization's sorted pretty printing, apart from the whitespace between tokens")
    func sameTokensAsJSONSerialization() throws {
        let json: [String: Any] = [
            "items": [["incident": ["lat": 42.5201, "killed": 0, "tags": ["night"], "summary": "Stones : thrown"], "status": "verified"]],
            "next_cursor": NSNull(), "as_of": 526,
        ]
        let ours = try JSONSerialization.jsonObject(with: Data(JSONLayout.text(json).utf8))
        let theirs = try JSONSerialization.data(withJSONObject: json, options: [.sortedKeys, .withoutEscapingSlashes])
        let again = try JSONSerialization.data(withJSONObject: ours, options: [.sortedKeys, .withoutEscapingSlashes])
        #expect(again == theirs)
        let keys = ["\"as_of\"", "\"items\"", "\"next_cursor\""].map { JSONLayout.text(json).range(of: $0)!.lowerBound }
        #expect(keys == keys.sorted())
    }
}
