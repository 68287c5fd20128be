import Foundation
import Testing

@testable import IncidentRendering

@Suite("Embedded map data: the Resources files as they are, read as the 38 municipalities")
struct MapDataTests {
    static let resources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/IncidentRendering/Resources")

    @Test("the binary's map data and notice are exactly Resources/ (run scripts/embed-map-data after an edit)")
    func matchesFiles() throws {
        let geoJSON = try String(contentsOf: Self.resources.appendingPathComponent("kosovo-municipalities.geojson"), encoding: .utf8)
        let notice = try String(contentsOf: Self.resources.appendingPathComponent("kosovo-municipalities.NOTICE.txt"), encoding: .utf8)
        #expect(MapData.boundaries == geoJSON)
        #expect(MapData.notice == notice)
    }

    @Test("38 municipalities in 7 districts, with the regions table's codes and both names")
    func municipalities() throws {
        let all = try MunicipalityBoundaries.read(MapData.boundaries).map(\.municipality)
        #expect(all == MunicipalityMap.municipalities)
        #expect(Set(all.map(\.code)).count == 38)
        #expect(Set(all.map(\.district)) == ["XK-PRI", "XK-MIT", "XK-PEJ", "XK-PRZ", "XK-FER", "XK-GJI", "XK-GJA"])
        #expect(all.allSatisfy { $0.code.wholeMatch(of: /XK-[A-Z]{3}-0[1-9]/) != nil && $0.code.hasPrefix($0.district + "-") })
        #expect(all.first { $0.code == "XK-PEJ-01" }?.name == "Pejë / Peć")
        #expect(all.first { $0.code == "XK-MIT-07" }?.name == "Zubin Potok")
        #expect(MunicipalityBoundaries.shapes.allSatisfy { !$0.rings.isEmpty && $0.rings.allSatisfy { $0.count >= 4 } })
    }

    @Test("a collection with anything but polygons is refused")
    func refusesOtherGeometry() {
        let point = """
            {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [21, 42]},
             "properties": {"code": "XK-PRI-01", "district": "XK-PRI", "name_sq": "Prishtinë", "name_sr": "Priština"}}]}
            """
        #expect(throws: DecodingError.self) { try MunicipalityBoundaries.read(point) }
    }
}
