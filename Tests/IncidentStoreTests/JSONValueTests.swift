import Foundation
import PostgresLibpq
import Testing

@testable import IncidentStore

@Suite("JSON values")
struct JSONValueTests {
    @Test("booleans and numbers stay distinct")
    func types() throws {
        let value = try JSONValue.parse(Data(#"{"a": true, "b": 1, "c": 0, "d": "x", "e": null, "f": [1.5]}"#.utf8))
        #expect(value == ["a": true, "b": 1, "c": 0, "d": "x", "e": nil, "f": [1.5]])
    }

    @Test(
        "malformed JSON and invalid UTF-8 are errors",
        arguments: [
            Data("{".utf8), Data([0x7B, 0x22, 0xFF, 0x22, 0x3A, 0x31, 0x7D]), Data("[1 2]".utf8), Data("[1,]".utf8), Data(#"{"a":1,}"#.utf8),
            Data("01".utf8), Data("1.".utf8), Data("-".utf8), Data("1e".utf8), Data("1e999".utf8), Data(#""\ud800""#.utf8),
            Data(#""\udc00x""#.utf8), Data("\"a\u{01}b\"".utf8), Data(#""\x""#.utf8), Data("true false".utf8), Data("nul".utf8),
            Data("".utf8), Data("   ".utf8), Data(#"{"a" 1}"#.utf8), Data("NaN".utf8), Data(String(repeating: "[", count: 600).utf8),
        ] as [Data])
    func malformed(_ data: Data) {
        #expect(throws: (any Error).self) { try JSONValue.parse(data) }
    }

    @Test("strings: escapes, surrogate pairs and UTF-8 round-trip through text")
    func strings() throws {
        let value = try JSONValue.parse(Data(#" {"k\"ey": "a\\b\/c\n\t\u00e9\ud83d\ude00 ë 🙂", "n": -12.5e1, "z": -0, "d": [[[]]]} "#.utf8))
        #expect(value == ["k\"ey": "a\\b/c\n\té😀 ë 🙂", "n": -125, "z": 0, "d": [[[]]]])
        #expect(try JSONValue.parse(value.encoded()) == value)
        #expect(JSONValue.string("\u{01}\"").encodedString == #""\u0001\"""#)
        #expect(JSONValue.string("plain ë \\ mid\n\u{1F}end").encodedString == #""plain ë \\ mid\n\u001fend""#)
        #expect(JSONValue.string("").encodedString == #""""#)
        #expect(try JSONValue.parse(Data(String(repeating: "[", count: 500).appending(String(repeating: "]", count: 500)).utf8)) != .null)
    }

    @Test("encoding is stable: sorted keys, whole numbers without a fraction")
    func stable() {
        let value: JSONValue = ["b": 1, "a": [true, 2.5]]
        #expect(value.encodedString == #"{"a":[true,2.5],"b":1}"#)
    }
}
