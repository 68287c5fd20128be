import AsyncHTTPClient
import Foundation
import IncidentTransport
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// Exit codes of ictl (docs/cli.md, Exit codes), documented in `ictl --help`.
enum Exit {
    static let ok: Int32 = 0
    static let usage: Int32 = 64
    static let rejected: Int32 = 65
    static let notFound: Int32 = 66
    static let unreachable: Int32 = 69
    static let queued: Int32 = 75
    static let conflict: Int32 = 76
    static let notAuthorized: Int32 = 77
    static let other: Int32 = 1
}

/// A failure with its exit code and one clear line for stderr.
struct CLIError: Error {
    var code: Int32
    var message: String
}

func note(_ message: String) {
    FileHandle.standardError.write(Data(("ictl: " + message + "\n").utf8))
}
