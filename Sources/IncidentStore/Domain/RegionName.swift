import Foundation
import PostgresLibpq

/// Name folding for region look-up.
public enum RegionName {
    /// Lower case, diacritics removed (`ë`→`e`, `ć`→`c`, `đ`→`d`), punctuation as spaces, spaces collapsed.
    public static func fold(_ text: String) -> String {
        var out = ""
        var pendingSpace = false
        for scalar in text.lowercased().decomposedStringWithCanonicalMapping.unicodeScalars {
            switch scalar.value {
            case 0x0300...0x036F: continue  // combining marks
            default: break
            }
            let mapped: Character
            switch scalar {
            case "đ": mapped = "d"
            case "ł": mapped = "l"
            case "ß": mapped = "s"
            default: mapped = Character(scalar)
            }
            if mapped.isLetter || mapped.isNumber {
                if pendingSpace && !out.isEmpty { out.append(" ") }
                pendingSpace = false
                out.append(mapped)
            } else {
                pendingSpace = true
            }
        }
        return out
    }

    static func tokens(_ folded: String) -> [String] {
        folded.split(separator: " ").map(String.init)
    }

    /// Levenshtein distance over characters.
    public static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var previous = Array(0...b.count)
        var current = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}
