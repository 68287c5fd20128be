import ArgumentParser
import Crypto
import Foundation
import NIOCore
import NIOHTTP1

/// A progress bar on stderr when it is a terminal; silent otherwise.
final class Progress {
    let total: Int
    let enabled = isatty(STDERR_FILENO) == 1

    init(total: Int) {
        self.total = total
        update(0)
    }

    func update(_ done: Int) {
        guard enabled, total > 0 else { return }
        let width = 30
        let filled = done * width / total
        let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
        FileHandle.standardError.write(Data("\r\(bar) \(done)/\(total)".utf8))
    }

    func finish() {
        if enabled { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// Runs `body` with a spinner and `label` on stderr when it is a terminal and the wait is longer
/// than a moment (a digest on a slow link); silent otherwise. The line is cleared at the end.
func withSpinner<T>(_ label: String, _ body: () async throws -> T) async throws -> T {
    guard isatty(STDERR_FILENO) == 1 else { return try await body() }
    let spinner = Task {
        let frames = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
        try? await Task.sleep(for: .milliseconds(300))
        var frame = 0
        while !Task.isCancelled {
            FileHandle.standardError.write(Data("\r\(frames[frame % frames.count]) \(label)".utf8))
            frame += 1
            try? await Task.sleep(for: .milliseconds(100))
        }
    }
    let result: Result<T, any Error>
    do {
        result = .success(try await body())
    } catch {
        result = .failure(error)
    }
    spinner.cancel()
    await spinner.value
    FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    return try result.get()
}
