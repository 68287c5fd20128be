import Foundation
import PostgresLibpq
import Testing

@testable import IncidentStore

@Suite("Region names")
struct RegionNameTests {
    @Test(
        "folding drops case, diacritics and punctuation",
        arguments: [("Pejë", "peje"), ("Đakovica", "dakovica"), ("Fushë-Kosovë", "fushe kosove"), ("  Zubin   Potok ", "zubin potok"), ("Graçanicë", "gracanice")])
    func fold(_ input: String, _ expected: String) {
        #expect(RegionName.fold(input) == expected)
    }

    @Test("edit distance")
    func distance() {
        #expect(RegionName.editDistance("prishtna", "prishtine") == 2)
        #expect(RegionName.editDistance("", "abc") == 3)
    }
}
