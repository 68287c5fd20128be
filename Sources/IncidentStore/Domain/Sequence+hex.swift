import Foundation
import PostgresLibpq

extension Sequence<UInt8> {
    /// Lower-case hex, two digits a byte (digests, keys as PostgreSQL's `decode(…, 'hex')` reads them).
    var hexString: String {
        let digits = Hex.lowerDigits
        var out: [UInt8] = []
        for byte in self {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Data {
    /// Bytes from lower- or upper-case hex (as PostgreSQL's `encode(…, 'hex')` writes them); a
    /// character that is not a hex digit reads as zero.
    init(hex: String) {
        var hex = hex
        self = hex.withUTF8 { digits in
            Data(
                [UInt8](unsafeUninitializedCapacity: digits.count / 2) { bytes, count in
                    count = digits.count / 2
                    for i in 0..<count { bytes[i] = (Hex.value(of: digits[2 * i]) ?? 0) << 4 | (Hex.value(of: digits[2 * i + 1]) ?? 0) }
                })
        }
    }
}
