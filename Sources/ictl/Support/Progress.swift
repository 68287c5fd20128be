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
