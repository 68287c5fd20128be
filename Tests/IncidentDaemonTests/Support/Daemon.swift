import Foundation
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// `incidentd serve` as a child process on a test database.
final class Daemon: @unchecked Sendable {
    let process = Process()
    let port: Int
    /// A temporary file that gets its stderr (its log), removed when it stops.
    private let log: String

    /// - Parameters:
    ///   - conninfo: the database; nil for the embedded cluster (give `--data-dir` in `arguments`).
    init(conninfo: String?, port: Int, arguments: [String] = []) throws {
        self.port = port
        log = FileManager.default.temporaryDirectory.path + "/incidentd-\(port)-\(UUID().uuidString).log"
        process.executableURL = URL(fileURLWithPath: Binaries.incidentd)
        // An external database needs a master key: the test process's, which its databases are bound to.
        let external = conninfo.map { ["--database-url", $0] + (arguments.contains("--master-key-file") ? [] : ["--master-key-file", TestKeys.file]) } ?? []
        process.arguments = ["serve", "--port", String(port), "--pool-size", "2"] + external + arguments
        process.standardOutput = FileHandle.nullDevice
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// Waits until /readyz answers 200; records an issue when the daemon exits or does not get there.
    func ready() async throws {
        for _ in 0..<200 {
            guard process.isRunning else {
                Issue.record("incidentd exited (status \(process.terminationStatus)) before it was ready; its log ends:\n\(logged.suffix(2000))")
                return
            }
            if let (_, response) = try? await URLSession.shared.data(from: URL(string: "http://127.0.0.1:\(port)/readyz")!),
                (response as? HTTPURLResponse)?.statusCode == 200
            {
                return
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        Issue.record("incidentd did not become ready")
    }

    /// What it has written to stderr so far (empty once it has stopped).
    var logged: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

    func stop() {
        process.terminate()
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: log)
    }

    /// Dies at once, as in a crash or `kill -9`: nothing is shut down cleanly.
    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: log)
    }

    /// The value of a series on /metrics (its name and labels as printed), nil when absent or
    /// unreachable. A request without an answer in 5 s is sent again, six times at most: on a
    /// machine loaded by the whole suite one such request once waited out URLSession's 60 s.
    func metric(_ name: String) async -> Double? {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(port)/metrics")!)
        request.timeoutInterval = 5
        for _ in 0..<6 {
            guard let (data, _) = try? await URLSession.shared.data(for: request) else { continue }
            for line in String(decoding: data, as: UTF8.self).split(separator: "\n") where line.hasPrefix(name + " ") {
                return Double(line.dropFirst(name.count + 1).trimmingCharacters(in: .whitespaces))
            }
            return nil
        }
        return nil
    }
}
