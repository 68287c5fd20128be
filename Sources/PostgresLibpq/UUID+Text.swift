import Foundation

extension UUID {
    /// A UUID from its canonical text (8-4-4-4-12 hex digits, either case), as PostgreSQL and
    /// stream names write it; nil for anything else. Foundation's parser went through `sscanf`,
    /// a twentieth of a rebuild's time.
    public init?(canonical text: some StringProtocol) {
        var bytes = (
            UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0),
            UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0)
        )
        let valid =
            text.utf8.count == 36
            && withUnsafeMutableBytes(of: &bytes) { out -> Bool in
                var index = 0, high: UInt8? = nil, position = 0
                for c in text.utf8 {
                    defer { position += 1 }
                    if position == 8 || position == 13 || position == 18 || position == 23 {
                        guard c == UInt8(ascii: "-") else { return false }
                        continue
                    }
                    guard let value = Hex.value(of: c) else { return false }
                    if let h = high {
                        out[index] = h << 4 | value
                        index += 1
                        high = nil
                    } else {
                        high = value
                    }
                }
                return index == 16
            }
        guard valid else { return nil }
        self = UUID(uuid: bytes)
    }

    /// The canonical lower-case text (`uuidString.lowercased()`, without its two allocations).
    public var lowercasedText: String {
        let digits = Hex.lowerDigits
        return withUnsafeBytes(of: uuid) { bytes in
            String(unsafeUninitializedCapacity: 36) { out in
                var o = 0
                for (i, byte) in bytes.enumerated() {
                    if i == 4 || i == 6 || i == 8 || i == 10 { out[o] = UInt8(ascii: "-"); o += 1 }
                    out[o] = digits[Int(byte >> 4)]
                    out[o + 1] = digits[Int(byte & 0x0F)]
                    o += 2
                }
                return o
            }
        }
    }
}
