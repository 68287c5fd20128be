import Foundation

/// The map's colour classes: zero in a neutral grey of its own, positive counts in up to five
/// classes growing geometrically up to the largest count, coloured from a viridis-like ramp.
///
/// Geometric rather than equal widths because incident counts are skewed: one busy municipality
/// (Prishtinë, most weeks) would otherwise leave all others in the lowest class.
///
/// Viridis is sequential, perceptually even and legible to readers with the common colour-vision
/// deficiencies, and it stays ordered light-to-dark in grayscale print; the grey for zero lies
/// outside it (neither yellow-green nor blue), so "none" never reads as "few".
struct MapClasses: Sendable, Equatable {
    /// Five steps of viridis, light (few) to dark (many).
    static let ramp = ["#fde725", "#5ec962", "#21918c", "#3b528b", "#440154"]
    static let zeroColour = "#e3e3e3"

    /// The classes of positive counts, ascending; empty when every count is zero.
    let ranges: [ClosedRange<Int>]

    /// Classes for counts from 1 to `maximum`: upper bounds at maximum^(k/5), k = 1…5, rounded
    /// (1–2, 3–4, 5–9, 10–19, 20–40 for 40), merged where two meet, so small maxima get fewer
    /// classes rather than empty ones (1, 2, 3, 4, 5 for 5).
    init(maximum: Int) {
        guard maximum > 0 else {
            ranges = []
            return
        }
        var uppers: [Int] = []
        for k in 1...Self.ramp.count {
            let upper = max(1, Int(pow(Double(maximum), Double(k) / Double(Self.ramp.count)).rounded()))
            if upper > uppers.last ?? 0 { uppers.append(upper) }
        }
        ranges = uppers.indices.map { ($0 == 0 ? 1 : uppers[$0 - 1] + 1)...uppers[$0] }
    }

    /// The class of `count`: 0 for zero (and below), 1… for the ranges, the last for the maximum.
    func index(of count: Int) -> Int {
        guard count > 0 else { return 0 }
        return (ranges.firstIndex { $0.contains(count) } ?? ranges.count - 1) + 1
    }

    /// The fill of class `index`: the ramp spread over the classes there are, so the top class is
    /// always the darkest and fewer classes stay far apart.
    func colour(ofClass index: Int) -> String {
        guard index > 0 else { return Self.zeroColour }
        let last = Self.ramp.count - 1
        return ranges.count == 1 ? Self.ramp[last] : Self.ramp[((index - 1) * last + (ranges.count - 1) / 2) / (ranges.count - 1)]
    }

    /// The legend's label of class `index`: "0", "4", "4–6".
    func label(ofClass index: Int) -> String {
        guard index > 0 else { return "0" }
        let range = ranges[index - 1]
        return range.lowerBound == range.upperBound ? String(range.lowerBound) : "\(range.lowerBound)–\(range.upperBound)"
    }
}
