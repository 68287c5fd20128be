import Foundation
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

@Suite("Region resolution (docs/data-model.md, Regions)")
struct RegionResolutionTests {
    func regions() async throws -> RegionDirectory { try await Seeds.context().regions }

    @Test("code, either name, no diacritics, any case", arguments: ["pec", "Peja", "Pejë", "XK-PEJ-01", "PEĆ", "xk-pej-01", " peć "])
    func resolvesPejaInAnyForm(_ input: String) async throws {
        guard case .found(let municipality) = try await regions().resolveMunicipality(input) else {
            Issue.record("\(input) did not resolve")
            return
        }
        #expect(municipality.code == "XK-PEJ-01")
    }

    @Test(
        "names with letters that do not decompose",
        arguments: [
            ("Đakovica", "XK-GJA-01"), ("dakovica", "XK-GJA-01"), ("Djakovica", "XK-GJA-01"), ("fushe kosove", "XK-PRI-03"), ("Fushë-Kosovë", "XK-PRI-03"),
            ("Zvečan", "XK-MIT-06"), ("north mitrovica", "XK-MIT-02"),
        ])
    func resolvesNamesWithUndecomposableLetters(_ input: String, _ code: String) async throws {
        guard case .found(let municipality) = try await regions().resolveMunicipality(input) else {
            Issue.record("\(input) did not resolve")
            return
        }
        #expect(municipality.code == code)
    }

    @Test("mitrovica is ambiguous between north and south")
    func mitrovica() async throws {
        guard case .ambiguous(let candidates) = try await regions().resolveMunicipality("mitrovica") else {
            Issue.record("mitrovica was not ambiguous")
            return
        }
        #expect(Set(candidates.map(\.code)) == ["XK-MIT-01", "XK-MIT-02"])
    }

    @Test("an unknown name suggests close matches")
    func unknown() async throws {
        guard case .unknown(let close) = try await regions().resolveMunicipality("Prishtna") else {
            Issue.record("expected unknown")
            return
        }
        #expect(close.map(\.code).contains("XK-PRI-01"))
        guard case .unknown(let none) = try await regions().resolveMunicipality("Atlantis") else {
            Issue.record("expected unknown")
            return
        }
        #expect(none.isEmpty)
    }

    @Test("districts resolve by code or name", arguments: [("XK-PEJ", "XK-PEJ"), ("Pejë", "XK-PEJ"), ("mitrovica", "XK-MIT"), ("Urosevac", "XK-FER")])
    func districts(_ input: String, _ code: String) async throws {
        guard case .found(let district) = try await regions().resolveDistrict(input) else {
            Issue.record("\(input) did not resolve")
            return
        }
        #expect(district.code == code)
    }
}
