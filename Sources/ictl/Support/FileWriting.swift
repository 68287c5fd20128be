import ArgumentParser
import Foundation
import NIOCore
import NIOHTTP1

/// Writes `data` to `path` through a temporary file in the same directory, readable by the user
/// only (mode 0600) and flushed to disk before it is renamed into place.
/// - Throws: ``CLIError`` when it cannot be written.
func writePrivately(_ data: Data, to path: String) throws {
    let directory = (path as NSString).deletingLastPathComponent
    let temporary = directory + "/." + (path as NSString).lastPathComponent + "." + UUID().uuidString.prefix(8).lowercased() + ".tmp"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL, 0o600)
    guard fd >= 0 else { throw CLIError(code: Exit.other, message: "cannot write \(path): \(String(cString: strerror(errno)))") }
    let written = data.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    let flushed = fsync(fd) == 0
    close(fd)
    guard written == data.count, flushed, rename(temporary, path) == 0 else {
        let reason = String(cString: strerror(errno))
        unlink(temporary)
        throw CLIError(code: Exit.other, message: "cannot write \(path): \(reason)")
    }
}

/// Writes `data` to a temporary file beside `path`, then renames it over `path`: a reader sees the
/// old file or the new one, never a part. Any failure is one ``CLIError`` line.
func writeAtomically(_ data: Data, to path: String) throws {
    let url = URL(fileURLWithPath: path)
    let directory = url.deletingLastPathComponent()
    let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
    do {
        try data.write(to: temporary)
        guard rename(temporary.path, url.path) == 0 else {
            throw CLIError(code: Exit.other, message: "cannot write \(path): \(String(cString: strerror(errno)))")
        }
    } catch let error as CLIError {
        try? FileManager.default.removeItem(at: temporary)
        throw error
    } catch {
        try? FileManager.default.removeItem(at: temporary)
        let reason = (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
        throw CLIError(code: Exit.other, message: "cannot write \(path): \(reason)")
    }
}
