import Foundation

// The map's path data, legend and attribution line.
extension MunicipalityMap {
    /// SVG path data of `rings`: each ring an absolute move, then relative lines, then a close.
    ///
    /// Points are placed in whole tenths of a pixel (`place`), so the relative steps add up exactly
    /// and a border two neighbours share lands on the same pixels from both sides; repeated points
    /// after rounding are left out (both sides leave out the same ones), and so is the closing
    /// point, which "z" draws.
    static func pathData(_ rings: [[MapPoint]], _ place: (MapPoint) -> (Int, Int)) -> String {
        var out = ""
        for ring in rings {
            var points: [(Int, Int)] = []
            for point in ring.map(place) where points.last.map({ $0 != point }) ?? true { points.append(point) }
            if points.count > 1, points.first! == points.last! { points.removeLast() }
            guard points.count >= 3 else { continue }
            out += "M\(tenths(points[0].0)),\(tenths(points[0].1))l"
            out += zip(points, points.dropFirst()).map { "\(tenths($1.0 - $0.0)),\(tenths($1.1 - $0.1))" }.joined(separator: " ")
            out += "z"
        }
        return out
    }

    /// `value` tenths as the shortest SVG number: 12 → "1.2", 10 → "1", -3 → "-.3".
    static func tenths(_ value: Int) -> String {
        let sign = value < 0 ? "-" : "", whole = abs(value) / 10, tenth = abs(value) % 10
        return tenth == 0 ? sign + String(whole) : sign + (whole == 0 ? "" : String(whole)) + "." + String(tenth)
    }

    /// The legend: its title, then a swatch and label per class (zero first), wrapped to `width`.
    /// - Returns: its SVG and the bottom of its last line.
    static func legend(_ classes: MapClasses, title: String, top: Double, width: Double, margin: Double) -> (svg: String, bottom: Double) {
        var out = "<g class=\"mm-legend\">"
        var (x, y) = (margin, top + 14)
        out += "<text x=\"\(f(x))\" y=\"\(f(y))\" font-weight=\"700\">\(esc(title))</text>"
        x += 12 + Double(title.count) * 7.2
        for index in 0...classes.ranges.count {
            let label = classes.label(ofClass: index), itemWidth = 20 + Double(label.count) * 7.2
            if x + itemWidth > width - margin { (x, y) = (margin, y + 20) }
            out +=
                "<rect x=\"\(f(x))\" y=\"\(f(y - 11))\" width=\"14\" height=\"14\" fill=\"\(classes.colour(ofClass: index))\" stroke=\"#555\" stroke-width=\".5\"/>"
                + "<text x=\"\(f(x + 19))\" y=\"\(f(y))\">\(esc(label))</text>"
            x += itemWidth + 12
        }
        return (out + "</g>\n", y + 4)
    }

    /// The attribution, linked to the local notice page; on two lines when one would not fit.
    /// - Returns: its SVG and the height of the whole map with it.
    static func attributionLines(top: Double, width: Double, margin: Double, href: String) -> (svg: String, height: Double) {
        var lines = [attribution]
        if Double(attribution.count) * 6 > width - 2 * margin, let split = attribution.range(of: ", via ") {
            lines = [String(attribution[..<split.lowerBound]) + ",", "via " + String(attribution[split.upperBound...])]
        }
        let text = lines.enumerated().map { i, line in
            "<text x=\"\(f(margin))\" y=\"\(f(top + 11 + Double(i) * 14))\">\(esc(line))</text>"
        }.joined()
        let body = "<g class=\"mm-credit\" font-size=\"11\" fill=\"#3d4653\">\(text)</g>"
        let linked = isLocal(href) ? "<a class=\"mm-attribution\" href=\"\(esc(href))\">\(body)</a>" : body
        return (linked + "\n", top + Double(lines.count) * 14 + 4)
    }
}
