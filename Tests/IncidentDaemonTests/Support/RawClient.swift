import Foundation
import HTTPTypes
import HummingbirdTesting
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

@testable import IncidentDaemon

/// A plain TCP client on a thread of its own (blocking calls must stay off Swift's shared threads).
final class RawClient: @unchecked Sendable {
    private let fd: Int32

    private init?(port: Int) {
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if connected != 0 { return nil }  // deinit closes the socket
    }

    deinit { close(fd) }

    func send(_ data: Data) {
        _ = data.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// What arrives within `timeout` seconds (until the peer pauses or closes), nil when nothing does.
    func receive(timeout: Double) -> String? {
        var poll = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard Glibc.poll(&poll, 1, Int32(timeout * 1000)) > 0 else { return nil }
        var buffer = [UInt8](repeating: 0, count: 65_536)
        let count = recv(fd, &buffer, buffer.count, 0)
        return count > 0 ? String(decoding: buffer.prefix(count), as: UTF8.self) : nil
    }

    /// A request with a JSON body on a connection of its own (blocking).
    static func post(port: Int, token: String, body: Data) -> Answer {
        let head =
            "POST /v1/incidents HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(token)\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\nConnection: close\r\n\r\n"
        return exchange(port: port, Data(head.utf8) + body)
    }

    /// A GET without a token on a connection of its own (blocking).
    static func get(port: Int, _ path: String) -> Answer {
        exchange(port: port, Data("GET \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8))
    }

    /// Sends `request` (which asks for `Connection: close`) and reads the answer until the daemon
    /// closes, for at most `timeout` seconds; blocking.
    static func exchange(port: Int, _ request: Data, timeout: Duration = .seconds(15)) -> Answer {
        let start = ContinuousClock.now
        var received = Data()
        if let client = RawClient(port: port) {
            client.send(request)
            var buffer = [UInt8](repeating: 0, count: 65_536)
            while true {
                let left = timeout - (ContinuousClock.now - start)
                var poll = pollfd(fd: client.fd, events: Int16(POLLIN), revents: 0)
                let ready = left > .zero ? Glibc.poll(&poll, 1, Int32(left / .milliseconds(1))) : 0
                if ready < 0, errno == EINTR { continue }  // a signal, not the daemon: wait on
                guard ready > 0 else {
                    received = Data()  // no whole answer in time
                    break
                }
                let count = recv(client.fd, &buffer, buffer.count, 0)
                if count < 0, errno == EINTR { continue }
                if count <= 0 { break }
                received.append(contentsOf: buffer.prefix(count))
            }
        }
        let elapsed = ContinuousClock.now - start
        let text = String(decoding: received, as: UTF8.self)
        guard let headEnd = text.range(of: "\r\n\r\n") else { return Answer(elapsed: elapsed) }
        let lines = text[..<headEnd.lowerBound].split(separator: "\r\n")
        let fields = lines.dropFirst().map { $0.split(separator: ":", maxSplits: 1) }
        let retryAfter = fields.first { $0.count == 2 && $0[0].lowercased() == "retry-after" }.map { $0[1].trimmingCharacters(in: .whitespaces) }
        return Answer(
            status: lines.first.flatMap { $0.split(separator: " ").dropFirst().first }.flatMap { Int($0) },
            retryAfter: retryAfter, json: try? JSONValue.parse(Data(text[headEnd.upperBound...].utf8)), elapsed: elapsed
        )
    }

    /// Runs `body` with a connected client on a new thread; "" when the connection failed.
    static func spawn(port: Int, _ body: @escaping @Sendable (RawClient) -> String) -> Task<String, Never> {
        Task { (try? await onOwnThread { RawClient(port: port).map(body) ?? "" }) ?? "" }  // the body cannot throw
    }
}
