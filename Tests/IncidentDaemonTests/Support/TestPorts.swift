import Foundation
import Synchronization

#if canImport(Glibc)
import Glibc
#endif

/// Loopback ports for the servers a test starts (daemons, webhook receivers, a Patroni cluster).
///
/// They come from 20000–32000, below Linux's ephemeral range (32768–60999), where the kernel
/// puts the local end of outgoing connections: a port there can be taken by any client of the
/// suite between the choice and the bind. A port is handed out once per test process and only when
/// it can be bound at the time; ports held by other processes are skipped.
enum TestPorts {
    private static let range = 20_000...32_000
    private static let given = Mutex<Set<Int>>([])

    /// The first of `count` consecutive free ports.
    static func free(count: Int = 1) -> Int {
        while true {
            let first = Int.random(in: range.lowerBound...(range.upperBound - count + 1))
            let ports = Set(first..<(first + count))
            let taken = given.withLock { given in
                guard given.isDisjoint(with: ports), ports.allSatisfy(canBind) else { return true }
                given.formUnion(ports)
                return false
            }
            if !taken { return first }
        }
    }

    /// A free port with a listening socket on 127.0.0.1 held until `release()`: "another process
    /// already listens here" without starting one.
    static func held() -> HeldPort {
        while true {
            let port = free()
            guard let socket = boundSocket(port) else { continue }
            guard listen(socket, 1) == 0 else {
                close(socket)
                continue
            }
            return HeldPort(port: port, socket: socket)
        }
    }

    struct HeldPort {
        let port: Int
        fileprivate let socket: Int32
        func release() { close(socket) }
    }

    /// Whether a TCP socket can be bound to 127.0.0.1:`port` now (the socket is closed at once).
    private static func canBind(_ port: Int) -> Bool {
        guard let socket = boundSocket(port) else { return false }
        close(socket)
        return true
    }

    /// A TCP socket bound to 127.0.0.1:`port`, or nil when the port is taken.
    private static func boundSocket(_ port: Int) -> Int32? {
        let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard socket >= 0 else { return nil }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
        guard bound else {
            close(socket)
            return nil
        }
        return socket
    }
}
