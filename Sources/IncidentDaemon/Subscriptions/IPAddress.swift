import Foundation

/// An IPv4 or IPv6 address, and whether it is one on the public internet.
struct IPAddress: Sendable, Equatable, CustomStringConvertible {
    /// 4 or 16 bytes, network order.
    var bytes: [UInt8]

    init?(_ text: String) {
        var v4 = in_addr()
        var v6 = in6_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
        } else if inet_pton(AF_INET6, text, &v6) == 1 {
            bytes = withUnsafeBytes(of: &v6) { Array($0) }
        } else {
            return nil
        }
    }

    init?(_ address: UnsafeMutablePointer<sockaddr>?) {
        guard let address else { return nil }
        switch Int32(address.pointee.sa_family) {
        case AF_INET:
            bytes = address.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { pointer in withUnsafeBytes(of: pointer.pointee.sin_addr) { Array($0) } }
        case AF_INET6:
            bytes = address.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { pointer in withUnsafeBytes(of: pointer.pointee.sin6_addr) { Array($0) } }
        default: return nil
        }
    }

    /// False for loopback, private (RFC 1918, unique local), link-local, carrier-grade NAT,
    /// unspecified, multicast, broadcast and reserved addresses, IPv4 ones inside IPv6 included.
    var isPublic: Bool {
        if bytes.count == 16 {
            // ::, ::1 and the deprecated IPv4-compatible form; then IPv4-mapped (::ffff:a.b.c.d), decided by its IPv4 address.
            if bytes[0..<12].allSatisfy({ $0 == 0 }) { return false }
            if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xff && bytes[11] == 0xff { return IPAddress(v4: Array(bytes[12..<16])).isPublic }
            if bytes[0] & 0xfe == 0xfc { return false }  // fc00::/7 unique local
            if bytes[0] == 0xfe && bytes[1] & 0xc0 == 0x80 { return false }  // fe80::/10 link-local
            if bytes[0] == 0xfe && bytes[1] & 0xc0 == 0xc0 { return false }  // fec0::/10 site-local (deprecated)
            if bytes[0] == 0xff { return false }  // multicast
            if bytes[0] == 0x20 && bytes[1] == 0x01 && bytes[2] == 0x0d && bytes[3] == 0xb8 { return false }  // 2001:db8::/32 documentation
            if bytes[0] == 0x00 && bytes[1] == 0x64 && bytes[2] == 0xff && bytes[3] == 0x9b { return false }  // 64:ff9b::/96 NAT64 reaches IPv4 anywhere
            return true
        }
        let (a, b) = (bytes[0], bytes[1])
        switch a {
        case 0, 10, 127: return false  // "this network", private, loopback
        case 100 where b & 0xc0 == 64: return false  // 100.64.0.0/10 carrier-grade NAT
        case 169 where b == 254: return false  // link-local, the cloud metadata service
        case 172 where b & 0xf0 == 16: return false  // 172.16.0.0/12
        case 192 where b == 168: return false  // 192.168.0.0/16
        case 192 where b == 0 && bytes[2] == 0: return false  // 192.0.0.0/24 protocol assignments
        case 198 where b & 0xfe == 18: return false  // 198.18.0.0/15 benchmarking
        case 224...255: return false  // multicast, reserved, broadcast
        default: return true
        }
    }

    private init(v4: [UInt8]) { bytes = v4 }

    var description: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        var copy = bytes
        _ = inet_ntop(bytes.count == 4 ? AF_INET : AF_INET6, &copy, &text, socklen_t(text.count))
        return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
