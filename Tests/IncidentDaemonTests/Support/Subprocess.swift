import Foundation
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The built binaries, next to the test bundle (`swift build --build-tests` builds them).
enum Binaries {
    static var directory: URL {
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // The test runner may be inside an .xctest bundle directory.
        while !FileManager.default.fileExists(atPath: url.appendingPathComponent("ictl").path) && url.path != "/" {
            url.deleteLastPathComponent()
        }
        return url
    }

    static var incidentd: String { directory.appendingPathComponent("incidentd").path }
    static var ictl: String { directory.appendingPathComponent("ictl").path }
}

/// A finished `ictl` run.
struct Run: Sendable {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a binary to completion with `environment` added, stdin closed. After `timeout` it is
/// killed (status -9): a test of something that should exit must not hang when it does not.
/// The wait is on a thread of its own: the whole suite runs on two shared threads, and a test
/// blocking one of them for a subprocess holds up every other test's async code (timings such as
/// the daemon's recovery from a database restart included).
func run(_ tool: String, _ arguments: [String], environment: [String: String], timeout: Duration? = nil) async throws -> Run {
    try await onOwnThread { try runBlocking(tool, arguments, environment: environment, timeout: timeout) }
}

private func runBlocking(_ tool: String, _ arguments: [String], environment: [String: String], timeout: Duration?) throws -> Run {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: tool)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    let out = FileManager.default.temporaryDirectory.appendingPathComponent("ictl-out-\(UUID().uuidString)")
    let err = FileManager.default.temporaryDirectory.appendingPathComponent("ictl-err-\(UUID().uuidString)")
    _ = FileManager.default.createFile(atPath: out.path, contents: nil)
    _ = FileManager.default.createFile(atPath: err.path, contents: nil)
    defer {
        try? FileManager.default.removeItem(at: out)
        try? FileManager.default.removeItem(at: err)
    }
    process.standardOutput = try FileHandle(forWritingTo: out)
    process.standardError = try FileHandle(forWritingTo: err)
    process.standardInput = FileHandle.nullDevice
    try process.run()
    var killed = false
    if let timeout {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            killed = true
        }
    }
    process.waitUntilExit()
    return Run(
        status: killed ? -9 : process.terminationStatus,
        stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? ""
    )
}
