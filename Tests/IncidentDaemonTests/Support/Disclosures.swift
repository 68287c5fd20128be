import Foundation
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

/// Where `texts` can be found in the files under `directories`: as they are, or in base64 at any
/// alignment (an outbox that kept bodies as base64 would hide them from a plain search).
func disclosures(of texts: [String], under directories: [String]) -> [String] {
    var forms: [(String, Data)] = []
    for text in texts {
        let bytes = Data(text.utf8)
        forms.append((text, bytes))
        for offset in 0..<3 {
            let encoded = Array((Data(repeating: 0x2A, count: offset) + bytes).base64EncodedString().utf8)
            // Drop the characters that also encode the filler before the text and the ragged end.
            let inner = encoded.dropFirst(offset == 0 ? 0 : 4).dropLast(4)
            if inner.count >= 8 { forms.append(("\(text) in base64", Data(inner))) }
        }
    }
    var found: [String] = []
    for directory in directories {
        guard let walker = FileManager.default.enumerator(atPath: directory) else { continue }
        for case let name as String in walker {
            let path = directory + "/" + name
            guard let contents = FileManager.default.contents(atPath: path) else { continue }
            for (what, form) in forms where contents.range(of: form) != nil { found.append("\(what) in \(path)") }
        }
    }
    return found
}

/// Files (not directories) under `directory`, recursively.
func files(under directory: String) -> [String] {
    var isDirectory: ObjCBool = false
    return (FileManager.default.enumerator(atPath: directory)?.allObjects as? [String] ?? []).filter {
        FileManager.default.fileExists(atPath: directory + "/" + $0, isDirectory: &isDirectory) && !isDirectory.boolValue
    }
}
