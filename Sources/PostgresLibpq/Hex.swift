/// Hex digits as ASCII bytes, for the text forms of UUIDs, bytea and keys that every layer writes.
public enum Hex {
    /// Lower-case hex digits, as PostgreSQL and the API write them.
    public static let lowerDigits: [UInt8] = Array("0123456789abcdef".utf8)

    /// A hex digit's value (either case), or nil.
    @inlinable @inline(__always)
    public static func value(of c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c &- 48
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c &- 87
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c &- 55
        default: nil
        }
    }
}
