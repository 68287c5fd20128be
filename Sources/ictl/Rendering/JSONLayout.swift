import Foundation

/// JSON in the layout people and their tools expect: `"key": value`, two spaces of indent per
/// level, `[]` and `{}` for empty containers, keys sorted. Scalars are written by
/// `JSONSerialization` (slashes unescaped), so only the layout differs from its pretty printing.
enum JSONLayout {
    static func text(_ value: Any) -> String {
        var out = ""
        write(value, indent: "", into: &out)
        return out
    }

    private static func write(_ value: Any, indent: String, into out: inout String) {
        let inner = indent + "  "
        switch value {
        case let object as [String: Any]:
            let keys = object.keys.sorted()
            guard !keys.isEmpty else { return out += "{}" }
            out += "{\n"
            for (index, key) in keys.enumerated() {
                out += inner + scalar(key) + ": "
                write(object[key]!, indent: inner, into: &out)
                out += index == keys.count - 1 ? "\n" : ",\n"
            }
            out += indent + "}"
        case let array as [Any]:
            guard !array.isEmpty else { return out += "[]" }
            out += "[\n"
            for (index, item) in array.enumerated() {
                out += inner
                write(item, indent: inner, into: &out)
                out += index == array.count - 1 ? "\n" : ",\n"
            }
            out += indent + "]"
        default:
            out += scalar(value)
        }
    }

    private static func scalar(_ value: Any) -> String {
        let data = try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed, .withoutEscapingSlashes])
        return data.map { String(decoding: $0, as: UTF8.self) } ?? "null"
    }
}
