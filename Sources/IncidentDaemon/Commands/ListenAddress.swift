import ArgumentParser
import Foundation
import NIOCore
import NIOPosix

/// The address `serve` listens on, tried before anything else starts: one taken by another
/// process, or not of this machine, is refused in one line within a second instead of after the
/// database has started and migrated. The server binds it again moments later.
enum ListenAddress {
    static func check(host: String, port: Int) async throws {
        do {
            let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
                .bind(host: host, port: port).get()
            try await channel.close()
        } catch let error as IOError {
            let reason =
                switch error.errnoCode {
                case EADDRINUSE: "the address is in use (another incidentd?): stop that process, or give another --port"
                case EADDRNOTAVAIL: "\(host) is not an address of this machine: give one of its addresses as --host"
                case EACCES: "ports below 1024 need privileges: give a --port of 1024 or more"
                default: "\(error)"
                }
            throw refusal("cannot listen on \(host):\(port): \(reason)")
        } catch is SocketAddressError {
            throw refusal("cannot listen on \(host):\(port): \(host) is not a name this machine can resolve: give an address as --host")
        } catch {
            throw refusal("cannot listen on \(host):\(port): \(error)")
        }
    }

    /// One line on stderr and exit 69 (unavailable); a ValidationError would add the usage text.
    private static func refusal(_ message: String) -> ExitCode {
        FileHandle.standardError.write(Data("incidentd: \(message)\n".utf8))
        return ExitCode(69)
    }
}
