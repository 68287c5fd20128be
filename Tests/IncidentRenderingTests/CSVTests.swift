import Testing

@testable import IncidentRendering

/// The one CSV cell rule every writer uses: RFC 4180 quoting and spreadsheet safety.
@Suite("CSV cells: RFC 4180 quoting and spreadsheet safety") struct CSVTests {
    @Test func csvCellsAreQuotedAndSpreadsheetSafe() {
        #expect(CSV.cell("plain") == "plain")
        #expect(CSV.cell("a,b") == "\"a,b\"")
        #expect(CSV.cell("say \"hi\"") == "\"say \"\"hi\"\"\"")
        #expect(CSV.cell("two\nlines") == "\"two\nlines\"")
        #expect(CSV.cell("=SUM(A1:A9)") == "'=SUM(A1:A9)")
        #expect(CSV.cell("+1") == "'+1")
        #expect(CSV.cell("@cmd") == "'@cmd")
        #expect(CSV.cell("\r\nx") == "\"'\r\nx\"")
        #expect(CSV.cell("12") == "12")
        #expect(CSV.line(["a", "=b", "c,d"]) == "a,'=b,\"c,d\"")
    }
}
