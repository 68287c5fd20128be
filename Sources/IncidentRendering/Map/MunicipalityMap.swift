import Foundation

/// An inline SVG choropleth of Kosovo's 38 municipalities, each shape a link titled with its
/// figures, with a legend of its colour classes (``MapClasses``) and the map data's attribution.
///
/// The output references nothing outside the server: no `xmlns` (inline SVG in HTML5 needs none),
/// no styles or fonts from elsewhere, and only links to local paths. Colours and strokes are
/// presentation attributes, not inline styles, so a strict Content-Security-Policy keeps them;
/// ``css`` adds the focus and hover outline.
///
/// The `<svg>` carries `role="img"` and an `aria-label`, so assistive technology reads the map as one
/// picture; the figures themselves belong in a table beside it, as the console shows them.
public enum MunicipalityMap {
    /// What one municipality's shape shows.
    public struct Area: Sendable, Equatable {
        /// The count that chooses the shape's colour class.
        public var count: Int
        /// The shape's tooltip, e.g. "Pejë / Peć: 12 incidents" (plain text; escaped here).
        public var title: String
        /// Where the shape links: a local path such as "/incidents?municipality=XK-PEJ-01". Anything
        /// else (a scheme, "//host", a backslash) is not linked, so the map cannot lead off the server.
        public var href: String

        public init(count: Int, title: String, href: String) {
            (self.count, self.title, self.href) = (count, title, href)
        }
    }

    /// The attribution the boundary data's licence asks for, shown with every map.
    public static let attribution = "Boundaries © OpenStreetMap contributors (ODbL), via geoBoundaries"
    /// The map data's provenance and licence notice (ODbL 1.0), as plain text for a local page such
    /// as "/about/map-data"; its addresses carry no scheme ("www.openstreetmap.org/copyright").
    public static var licenceNotice: String { MapData.notice }
    /// The 38 municipalities of the map, by code.
    public static var municipalities: [Municipality] { MunicipalityBoundaries.shapes.map(\.municipality) }

    /// The map's style sheet: a visible outline on the shape under the keyboard focus or the pointer.
    public static let css = """
        svg.mm a.mm-area:focus { outline: none; }
        svg.mm a.mm-area:focus path, svg.mm a.mm-area:hover path { stroke: #000; stroke-width: 2.5; }
        svg.mm a.mm-attribution text { text-decoration: underline; }

        """

    /// The map as one `<svg>` element.
    ///
    /// - Parameters:
    ///   - areas: what each municipality shows, by code ("XK-PEJ-01"); a municipality without an
    ///     entry is drawn as zero, titled with its names and not linked.
    ///   - width: the width in pixels (300 or more keeps the legend legible); the height follows from the country's shape.
    ///   - attributionHref: the local page of the map data's notice (``licenceNotice``), e.g. "/about/map-data".
    ///   - label: the `aria-label` of the whole map.
    ///   - legendTitle: what the counts are, before the legend's classes.
    /// - Returns: the `<svg>`, paths in tenths of a pixel.
    public static func svg(
        _ areas: [String: Area], width: Double, attributionHref: String,
        label: String = "Incidents by municipality", legendTitle: String = "Incidents"
    ) -> String {
        let margin = 8.0
        let (low, high) = MunicipalityBoundaries.bounds
        let scale = (width - 2 * margin) / (high.x - low.x)
        let mapHeight = (high.y - low.y) * scale + 2 * margin
        let classes = MapClasses(maximum: areas.values.map(\.count).max() ?? 0)
        let place = { (p: MapPoint) in (Int((((p.x - low.x) * scale + margin) * 10).rounded()), Int((((p.y - low.y) * scale + margin) * 10).rounded())) }
        var shapes = ""
        for shape in MunicipalityBoundaries.shapes {
            let area = areas[shape.municipality.code]
            let path =
                "<path d=\"\(pathData(shape.rings, place))\" fill=\"\(classes.colour(ofClass: classes.index(of: area?.count ?? 0)))\">"
                + "<title>\(esc(area?.title ?? shape.municipality.name))</title></path>"
            if let href = area?.href, isLocal(href) {
                shapes += "<a class=\"mm-area\" data-code=\"\(esc(shape.municipality.code))\" href=\"\(esc(href))\">\(path)</a>\n"
            } else {
                shapes += "<g class=\"mm-area\" data-code=\"\(esc(shape.municipality.code))\">\(path)</g>\n"
            }
        }
        let (legendSVG, legendBottom) = legend(classes, title: legendTitle, top: mapHeight + 4, width: width, margin: margin)
        let (credit, height) = attributionLines(top: legendBottom + 8, width: width, margin: margin, href: attributionHref)
        return "<svg class=\"mm\" viewBox=\"0 0 \(f(width)) \(f(height))\" width=\"\(f(width))\" height=\"\(f(height))\" role=\"img\" "
            + "aria-label=\"\(esc(label))\" font-family=\"sans-serif\" font-size=\"12\" fill=\"#1d2733\">\n"
            + "<g class=\"mm-areas\" stroke=\"#fff\" stroke-width=\"1\" stroke-linejoin=\"round\" fill-rule=\"evenodd\">\n"
            + shapes + "</g>\n" + legendSVG + credit + "</svg>"
    }

    /// Whether `href` stays on this server: a path ("/…"), not "//host" (another server, same scheme)
    /// and without a backslash (which browsers read as "/") or control characters.
    static func isLocal(_ href: String) -> Bool {
        href.hasPrefix("/") && !href.hasPrefix("//") && !href.unicodeScalars.contains { $0 == "\\" || $0.value < 0x20 || $0.value == 0x7F }
    }

    static func f(_ value: Double) -> String { DigestRendering.f(value) }
    static func esc(_ text: String) -> String { DigestRendering.esc(text) }
}
