import Foundation
import Testing

@testable import IncidentRendering

/// The choropleth's SVG: its shapes and links, its colour classes, escaping, and its fit.
@Suite("Municipality map: one linked, titled shape per municipality, fitted and self-contained")
struct MunicipalityMapTests {
    /// Every municipality with a count (the n-th gets n, Prishtinë the most), its title and link.
    static func areas() -> [String: MunicipalityMap.Area] {
        var areas: [String: MunicipalityMap.Area] = [:]
        for (n, m) in MunicipalityMap.municipalities.enumerated() {
            let count = m.code == "XK-PRI-01" ? 40 : m.code == "XK-PEJ-01" ? 0 : n
            areas[m.code] = .init(count: count, title: "\(m.name): \(count) incidents", href: "/incidents?municipality=\(m.code)&since=2026-11-01")
        }
        return areas
    }

    /// The `fill` of the path of municipality `code`.
    static func fill(of code: String, in svg: String) -> String? {
        guard let start = svg.range(of: "data-code=\"\(code)\"") else { return nil }
        let rest = svg[start.upperBound...]
        guard let fill = rest.range(of: " fill=\"") else { return nil }
        return String(rest[fill.upperBound...].prefix(7))
    }

    /// The absolute points of every path's data ("M x,y l dx,dy … z").
    static func points(_ svg: String) -> [(x: Double, y: Double)] {
        var out: [(x: Double, y: Double)] = []
        for match in svg.matches(of: /<path d="([^"]*)"/) {
            for ring in match.1.split(separator: "z") {
                let parts = ring.dropFirst().split(separator: "l", maxSplits: 1)
                let start = parts[0].split(separator: ",").map { Double($0)! }
                var (x, y) = (start[0], start[1])
                out.append((x, y))
                for step in parts.count > 1 ? parts[1].split(separator: " ") : [] {
                    let d = step.split(separator: ",").map { Double($0)! }
                    (x, y) = (x + d[0], y + d[1])
                    out.append((x, y))
                }
            }
        }
        return out
    }

    @Test("38 shapes, each code once, each linked to its incidents and titled with its figures")
    func everyMunicipalityOnce() {
        let svg = MunicipalityMap.svg(Self.areas(), width: 600, attributionHref: "/about/map-data")
        #expect(svg.matches(of: /<a class="mm-area"/).count == 38)
        #expect(svg.matches(of: /<path d=/).count == 38)
        #expect(Set(MunicipalityMap.municipalities.map(\.code)).count == 38)
        for m in MunicipalityMap.municipalities {
            let link = "data-code=\"\(m.code)\" href=\"/incidents?municipality=\(m.code)&amp;since=2026-11-01\">"
            #expect(svg.components(separatedBy: link).count == 2, "\(m.code) linked once")
            #expect(svg.contains("<title>\(m.name): "), "\(m.code) titled")
        }
        #expect(svg.contains("<title>Pejë / Peć: 0 incidents</title>"))
        #expect(svg.contains("<title>Zubin Potok: "))
        #expect(svg.hasPrefix("<svg class=\"mm\" ") && svg.hasSuffix("</svg>"))
        #expect(svg.contains(" role=\"img\" aria-label=\"Incidents by municipality\""))
    }

    @Test("no address outside the server: no scheme, no xmlns, off-server links left out")
    func nothingOutsideTheServer() {
        var areas = Self.areas()
        areas["XK-PEJ-01"]?.href = "https://evil.example/x"
        areas["XK-PEJ-02"]?.href = "//evil.example/x"
        areas["XK-PEJ-03"]?.href = "/\\evil.example/x"
        areas["XK-PRZ-01"]?.title = "see http://evil.example"
        let svg = MunicipalityMap.svg(areas, width: 600, attributionHref: "/about/map-data")
        #expect(!svg.contains("http://") && !svg.contains("https://") && !svg.contains("xmlns"))
        #expect(!svg.contains("evil.example/x\""))
        #expect(svg.matches(of: /<a class="mm-area"/).count == 35)
        #expect(svg.contains("<g class=\"mm-area\" data-code=\"XK-PEJ-01\">"))
        #expect(svg.contains("<a class=\"mm-attribution\" href=\"/about/map-data\">"))
        #expect(svg.contains("Boundaries © OpenStreetMap contributors (ODbL), via geoBoundaries"))
        let offServer = MunicipalityMap.svg(areas, width: 600, attributionHref: "https://www.openstreetmap.org/copyright")
        #expect(!offServer.contains("mm-attribution") && !offServer.contains("://"))
        #expect(!MunicipalityMap.licenceNotice.contains("://"))
        #expect(MunicipalityMap.licenceNotice.contains("www.openstreetmap.org/copyright"))
        #expect(MunicipalityMap.licenceNotice.contains(MunicipalityMap.attribution))
    }

    @Test("zero is neutral grey, the largest count the darkest class, the legend shows the bounds")
    func colourClasses() {
        let svg = MunicipalityMap.svg(Self.areas(), width: 600, attributionHref: "/about/map-data")
        #expect(Self.fill(of: "XK-PEJ-01", in: svg) == MapClasses.zeroColour)
        #expect(Self.fill(of: "XK-PRI-01", in: svg) == MapClasses.ramp.last)
        #expect(Self.fill(of: "XK-FER-02", in: svg) == MapClasses.ramp.first)  // 1 of 40
        #expect(svg.contains(">1–2</text>") && svg.contains(">20–40</text>") && svg.contains(">0</text>"))
        #expect(MapClasses(maximum: 40).ranges == [1...2, 3...4, 5...9, 10...19, 20...40])
        #expect(MapClasses(maximum: 12).ranges == [1...2, 3...3, 4...4, 5...7, 8...12])
        #expect(MapClasses(maximum: 5).ranges == [1...1, 2...2, 3...3, 4...4, 5...5])
        #expect(MapClasses(maximum: 2).ranges == [1...1, 2...2])
        #expect(MapClasses(maximum: 2).colour(ofClass: 2) == MapClasses.ramp.last)
        #expect(MapClasses(maximum: 1).colour(ofClass: 1) == MapClasses.ramp.last)
        #expect(MapClasses(maximum: 0).ranges.isEmpty)
        let empty = MunicipalityMap.svg([:], width: 400, attributionHref: "/about/map-data")
        #expect(empty.matches(of: /fill="#e3e3e3"><title>/).count == 38)
    }

    @Test("titles, labels and links are escaped")
    func escaping() {
        var areas = Self.areas()
        areas["XK-PEJ-01"]?.title = "Pejë <b>\"12\"</b> & 'x'"
        areas["XK-PEJ-01"]?.href = "/incidents?q=\"><script>"
        let svg = MunicipalityMap.svg(areas, width: 600, attributionHref: "/about/map-data", label: "<Map & \"more\">", legendTitle: "<i>")
        #expect(svg.contains("<title>Pejë &lt;b&gt;&quot;12&quot;&lt;/b&gt; &amp; &#39;x&#39;</title>"))
        #expect(svg.contains("href=\"/incidents?q=&quot;&gt;&lt;script&gt;\""))
        #expect(svg.contains("aria-label=\"&lt;Map &amp; &quot;more&quot;&gt;\""))
        #expect(svg.contains(">&lt;i&gt;</text>"))
        #expect(!svg.contains("<b>") && !svg.contains("<script>") && !svg.contains("<i>"))
    }

    @Test("the shapes fill the width less the margin, within the viewBox, north up and not stretched", arguments: [320.0, 600, 960])
    func fitsTheWidth(width: Double) throws {
        let svg = MunicipalityMap.svg(Self.areas(), width: width, attributionHref: "/about/map-data")
        let box = try #require(svg.firstMatch(of: /viewBox="0 0 ([0-9.]+) ([0-9.]+)"/))
        #expect(Double(box.1) == width)
        let height = try #require(Double(box.2))
        let points = Self.points(svg)
        let xs = points.map(\.x), ys = points.map(\.y)
        #expect(abs(xs.min()! - 8) < 0.11 && abs(xs.max()! - (width - 8)) < 0.11)
        #expect(ys.min()! >= 0 && ys.max()! <= height)
        // Kosovo spans 1.777° of longitude and 1.410° of latitude at 42.56° N: 0.926 as wide as tall.
        let aspect = (xs.max()! - xs.min()!) / (ys.max()! - ys.min()!)
        #expect(abs(aspect - 1.777 * cos(42.56 * Double.pi / 180) / 1.410) < 0.02)
        let (low, high) = MunicipalityBoundaries.bounds
        let centres = Dictionary(
            uniqueKeysWithValues: MunicipalityBoundaries.shapes.map { shape in
                let ring = shape.rings[0], n = Double(ring.count)
                return (shape.municipality.code, MapPoint(x: ring.map(\.x).reduce(0, +) / n, y: ring.map(\.y).reduce(0, +) / n))
            })
        #expect(centres["XK-MIT-05"]!.y < centres["XK-PRZ-04"]!.y, "Leposaviq (north) above Dragash (south)")
        #expect(centres["XK-PEJ-01"]!.x < centres["XK-GJI-01"]!.x, "Pejë (west) left of Gjilan (east)")
        #expect(high.x - low.x > 140 && high.x - low.x < 150, "about 146 km east to west")
    }
}
