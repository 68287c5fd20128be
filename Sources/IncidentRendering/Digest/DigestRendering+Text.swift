import Foundation

// Dates, figures and codes as the digest writes them, and escaping for Markdown, HTML and CSS.
extension DigestRendering {
    static let months = [
        "January", "February", "March", "April", "May", "June", "July",
        "August", "September", "October", "November", "December",
    ]

    /// Splits an ISO date ("2026-11-16") into year, month and day.
    static func parseDay(_ iso: String) -> (year: Int, month: String, day: Int)? {
        let parts = iso.split(separator: "-").compactMap { Int($0) }
        guard parts.count == 3, (1...12).contains(parts[1]) else { return nil }
        return (parts[0], months[parts[1] - 1], parts[2])
    }
    static func periodLine(_ d: DigestDocument) -> String {
        guard let a = parseDay(d.from), let b = parseDay(d.to) else { return "\(d.week) (\(d.from) – \(d.to))" }
        let range =
            a.year != b.year
            ? "\(a.day) \(a.month) \(a.year) – \(b.day) \(b.month) \(b.year)"
            : a.month != b.month ? "\(a.day) \(a.month) – \(b.day) \(b.month) \(b.year)" : "\(a.day)–\(b.day) \(b.month) \(b.year)"
        return "ISO week \(d.week), \(range)"
    }
    static func cutoffLine(_ d: DigestDocument) -> String {
        "figures include the log up to position \(d.asOf); generated \(timestamp(d.generatedAt))"
    }
    static func shortDay(_ iso: String, withYear: Bool) -> String {
        guard let p = parseDay(iso) else { return iso }
        return "\(p.day)\u{A0}\(p.month.prefix(3))" + (withYear ? "\u{A0}\(p.year)" : "")  // no-break spaces
    }
    /// "2026-11-30T01:10:00Z" → "2026-11-30 01:10 UTC"; anything else is shown as given.
    static func timestamp(_ iso: String) -> String {
        guard iso.count == 20, iso.hasSuffix(":00Z") else { return iso }
        return iso.prefix(16).replacingOccurrences(of: "T", with: " ") + " UTC"
    }
    /// "inter_ethnic_violence" → "Inter ethnic violence".
    static func humanize(_ code: String) -> String {
        let words = code.replacingOccurrences(of: "_", with: " ")
        return words.prefix(1).uppercased() + words.dropFirst()
    }
    /// Up to two decimals, trailing zeros dropped; "–" for values that are not finite.
    static func number(_ value: Double) -> String {
        guard value.isFinite else { return "–" }
        let rounded = (value * 100).rounded() / 100
        if rounded == 0 { return "0" }
        if rounded == rounded.rounded(), abs(rounded) < 1e15 { return String(Int(rounded)) }
        var text = String(format: "%.2f", rounded)
        while text.hasSuffix("0") { text.removeLast() }
        return text
    }
    /// "+3", "−2" (true minus sign), "0".
    static func signed(_ value: Double) -> String {
        let text = number(abs(value))
        return text == "0" || text == "–" ? text : (value > 0 ? "+" : "−") + text
    }
    static func dash(_ count: Int) -> String { count == 0 ? "–" : String(count) }
    static func casualties(_ items: [(Int, String)]) -> String {
        let parts = items.filter { $0.0 != 0 }.map { "\($0.0) \($0.1)" }
        return parts.isEmpty ? "None" : parts.joined(separator: ", ")
    }

    // MARK: - Escaping

    /// Markdown table-safe text: `|` and `<` backslash-escaped, line breaks flattened to spaces.
    static func mdText(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "|", "<": out += "\\" + String(scalar)
            case "\n", "\r": out += " "
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
    /// HTML-escapes text; "://" is written as ":&#47;&#47;" so free text can never form a live URL.
    static func esc(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "/" where out.hasSuffix(":") || out.hasSuffix(":&#47;"): out += "&#47;"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }
    /// A quoted CSS string; everything but letters, digits, spaces and harmless punctuation is hex-escaped.
    static func cssString(_ text: String) -> String {
        let plain = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: " .,;-_()"))
        let body = text.unicodeScalars.map {
            plain.contains($0) && ($0.isASCII || $0.properties.isAlphabetic) ? String($0) : String(format: "\\%06X ", $0.value)
        }
        return "\"" + body.joined() + "\""
    }
}
