import Foundation

/// A municipality's outline, projected: its rings (outer rings and holes; a MultiPolygon's parts
/// are more rings), each closed, in kilometres from the projection's centre.
struct MunicipalityShape: Sendable {
    let municipality: Municipality
    let rings: [[MapPoint]]
}

/// The 38 municipalities read from the embedded GeoJSON (``MapData/boundaries``) and projected,
/// once per process.
enum MunicipalityBoundaries {
    /// In the data's order (by code). A defect in the embedded data is a build defect, which a
    /// test catches, hence the `try!`.
    static let shapes: [MunicipalityShape] = try! read(MapData.boundaries)

    /// The projected bounding box of all shapes.
    static let bounds: (min: MapPoint, max: MapPoint) = {
        let points = shapes.flatMap { $0.rings.joined() }
        return (
            MapPoint(x: points.map(\.x).min() ?? 0, y: points.map(\.y).min() ?? 0),
            MapPoint(x: points.map(\.x).max() ?? 1, y: points.map(\.y).max() ?? 1)
        )
    }()

    /// Reads a GeoJSON FeatureCollection of Polygons and MultiPolygons with the properties
    /// code, district, name_sq, name_sr.
    /// - Throws: `DecodingError` when the text is not such a collection.
    static func read(_ geoJSON: String) throws -> [MunicipalityShape] {
        try JSONDecoder().decode(FeatureCollection.self, from: Data(geoJSON.utf8)).features.map { feature in
            let p = feature.properties
            let rings = feature.geometry.polygons.joined().map { ring in
                ring.map { MapProjection.project(longitude: $0[0], latitude: $0[1]) }
            }
            return MunicipalityShape(municipality: Municipality(code: p.code, district: p.district, nameSq: p.nameSq, nameSr: p.nameSr), rings: rings)
        }
    }

    /// The part of GeoJSON (RFC 7946) the map data uses.
    private struct FeatureCollection: Decodable {
        struct Feature: Decodable {
            let properties: Properties, geometry: Geometry
        }
        struct Properties: Decodable {
            let code: String, district: String, nameSq: String, nameSr: String
            enum CodingKeys: String, CodingKey { case code, district, nameSq = "name_sq", nameSr = "name_sr" }
        }
        /// A Polygon or a MultiPolygon, as a list of polygons of rings of [longitude, latitude].
        struct Geometry: Decodable {
            let polygons: [[[[Double]]]]
            enum CodingKeys: String, CodingKey { case type, coordinates }
            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                switch try container.decode(String.self, forKey: .type) {
                case "Polygon": polygons = [try container.decode([[[Double]]].self, forKey: .coordinates)]
                case "MultiPolygon": polygons = try container.decode([[[[Double]]]].self, forKey: .coordinates)
                case let other: throw DecodingError.dataCorruptedError(forKey: .type, in: container, debugDescription: "\(other) is not a polygon")
                }
                guard polygons.joined().joined().allSatisfy({ $0.count >= 2 }) else {
                    throw DecodingError.dataCorruptedError(forKey: .coordinates, in: container, debugDescription: "a position without longitude and latitude")
                }
            }
        }
        let features: [Feature]
    }
}
