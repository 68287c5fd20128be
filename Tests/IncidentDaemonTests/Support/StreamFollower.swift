import Foundation
import HTTPTypes
import HummingbirdTesting
import IncidentStore
import IncidentTesting
import Logging
import PostgresLibpq
import Testing

@testable import IncidentDaemon

/// `curl -N` following the event stream in the background, its output in a file.
final class StreamFollower: @unchecked Sendable {
    let process = Process()
    let output = FileManager.default.temporaryDirectory.appendingPathComponent("stream-\(UUID().uuidString)")

    init(port: Int, token: String, maxTime: Int = 30) throws {
        _ = FileManager.default.createFile(atPath: output.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
        process.arguments = ["-s", "-N", "--max-time", String(maxTime), "-H", "Authorization: Bearer \(token)", "http://127.0.0.1:\(port)/v1/events/stream"]
        process.standardOutput = try FileHandle(forWritingTo: output)
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var text: String { (try? String(contentsOf: output, encoding: .utf8)) ?? "" }

    /// Waits (up to 10 s) for the stream's first line: the server has taken it.
    func opened() async throws -> Bool {
        for _ in 0..<200 {
            if text.contains(": incident log stream") { return true }
            try await Task.sleep(for: .milliseconds(50))
        }
        return false
    }

    /// Waits (up to 30 s) until every one of `needles` has arrived; the text received so far.
    func received(_ needles: [String]) async throws -> String {
        for _ in 0..<600 {
            let text = self.text
            if needles.allSatisfy(text.contains) { return text }
            try await Task.sleep(for: .milliseconds(50))
        }
        return text
    }

    /// Waits up to `timeout` for curl to end; its status (0: the server ended the stream), nil if still running.
    func ended(within timeout: Duration) async throws -> Int32? {
        let deadline = ContinuousClock.now + timeout
        while process.isRunning && ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(50)) }
        return process.isRunning ? nil : process.terminationStatus
    }

    /// Kills curl (SIGKILL: the test process ignores SIGTERM for its service group, and children inherit that).
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(at: output)
    }
}
