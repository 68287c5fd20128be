#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Which host names and addresses are this machine: the one rule `incidentd serve` (for
/// `--host`), `ictl` (for `--server`) and the daemon's database check share (docs/operations.md, TLS).
///
/// Loopback is `localhost`, `127.0.0.0/8` in dotted-quad form, `::1` (and `127.0.0.0/8` mapped
/// into IPv6). Anything else is another machine, including `0.0.0.0` and `::` (every interface)
/// and spellings a resolver might still take for loopback (`127.1`, `0x7f000001`, a name that
/// happens to resolve to 127.0.0.1): mistaking loopback for the network only asks for TLS.
public enum Loopback {
    /// - Parameter host: a host name or an IP address, IPv6 with or without brackets.
    /// - Returns: true when traffic to `host` cannot leave the machine.
    public static func contains(_ host: String) -> Bool {
        // Brackets enclose an IPv6 address, and nothing else.
        let bracketed = host.hasPrefix("[") && host.hasSuffix("]") && host.count > 1
        let host = bracketed ? String(host.dropFirst().dropLast()) : host
        if !bracketed {
            if host.lowercased() == "localhost" { return true }
            var v4 = in_addr()
            if inet_pton(AF_INET, host, &v4) == 1 {
                return withUnsafeBytes(of: &v4) { $0[0] == 127 }
            }
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, host, &v6) == 1 else { return false }
        return withUnsafeBytes(of: &v6) { bytes in
            let mapped = bytes[0..<10].allSatisfy { $0 == 0 } && bytes[10] == 0xff && bytes[11] == 0xff
            let one = bytes[0..<15].allSatisfy { $0 == 0 } && bytes[15] == 1
            return one || (mapped && bytes[12] == 127)
        }
    }
}
