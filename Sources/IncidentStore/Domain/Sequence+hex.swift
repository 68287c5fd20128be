import Foundation

/// Lower-case hex digits as ASCII bytes: hex text, UUIDs and JSON's `\u00XX` escapes write from it.
let lowerHexDigits: [UInt8] = Array("0123456789abcdef".utf8)

extension Sequence<UInt8> {
    /// Lower-case hex, two digits a byte (digests, keys as PostgreSQL's `decode(…, 'hex')` reads them).
    var hexString: String {
        let digits = lowerHexDigits
        var out: [UInt8] = []
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

/// A hex digit's value, or nil.
@inline(__always)
private func nibble(_ c: UInt8) -> UInt8? {
    switch c {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): c &- 48
    case UInt8(ascii: "a")...UInt8(ascii: "f"): c &- 87
    case UInt8(ascii: "A")...UInt8(ascii: "F"): c &- 55
    default: nil
    }
}

extension Data {
    /// Bytes from lower- or upper-case hex (as PostgreSQL's `encode(…, 'hex')` writes them); a
    /// character that is not a hex digit reads as zero.
    init(hex: String) {
        var hex = hex
        self = hex.withUTF8 { digits in
            Data([UInt8](unsafeUninitializedCapacity: digits.count / 2) { bytes, count in
                count = digits.count / 2
                for i in 0..<count { bytes[i] = (nibble(digits[2 * i]) ?? 0) << 4 | (nibble(digits[2 * i + 1]) ?? 0) }
            })
        }
    }
}
