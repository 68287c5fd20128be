import AsyncHTTPClient
import Foundation
import IncidentTransport
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// Where ictl keeps its files: the config `ictl login` writes (mode 0600) and the offline outbox.
enum Paths {
    static var environment: [String: String] { ProcessInfo.processInfo.environment }
    static var home: String { environment["HOME"] ?? NSHomeDirectory() }

    static var config: String {
        if let path = environment["ICTL_CONFIG"], !path.isEmpty { return path }
        let base = environment["XDG_CONFIG_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? home + "/.config"
        return base + "/incident-log/ictl.json"
    }

    static var outbox: String {
        if let path = environment["ICTL_OUTBOX"], !path.isEmpty { return path }
        let base = environment["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? home + "/.local/share"
        return base + "/incident-log/outbox"
    }
}
