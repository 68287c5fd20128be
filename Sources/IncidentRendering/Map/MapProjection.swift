import Foundation

/// Lambert azimuthal equal-area projection (spherical) centred on Kosovo, at 20.9° E, 42.56° N
/// (the middle of the municipalities' bounding box).
///
/// Why this one: a choropleth asks the eye to compare coloured areas, so an equal-area projection
/// keeps a municipality's share of the map its share of the land; centred on the country, north is
/// straight up through the middle and distortion of shape over Kosovo's ~150 km is below 0.1 %.
/// (Plain longitude/latitude would stretch the map east–west by 1/cos 42.6° ≈ 1.36.)
enum MapProjection {
    static let centreLongitude = 20.9, centreLatitude = 42.56
    /// The mean Earth radius, in kilometres: projected points are kilometres from the centre.
    static let earthRadius = 6371.0

    /// The point `longitude`, `latitude` (degrees) as kilometres east and south of the centre:
    /// y grows downwards, as in SVG.
    static func project(longitude: Double, latitude: Double) -> MapPoint {
        let radians = Double.pi / 180
        let (phi, phi0) = (latitude * radians, centreLatitude * radians)
        let dLambda = (longitude - centreLongitude) * radians
        let k = (2 / (1 + sin(phi0) * sin(phi) + cos(phi0) * cos(phi) * cos(dLambda))).squareRoot()
        let east = k * cos(phi) * sin(dLambda)
        let north = k * (cos(phi0) * sin(phi) - sin(phi0) * cos(phi) * cos(dLambda))
        return MapPoint(x: earthRadius * east, y: -earthRadius * north)
    }
}

/// A projected point: kilometres east (x) and south (y) of the projection's centre.
struct MapPoint: Sendable, Equatable {
    var x: Double, y: Double
}
