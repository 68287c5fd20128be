import Foundation

/// A JSON object with only the allowed members, read member by member without coercion.
struct StrictObject {
    /// One member's value: only what the format's members can be is told apart.
    enum Member: Decodable {
        case null, bool(Bool), number(Double), string(String), other

        init(from decoder: any Decoder) throws {
            let value = try decoder.singleValueContainer()
            if value.decodeNil() {
                self = .null
            } else if let bool = try? value.decode(Bool.self) {
                self = .bool(bool)
            } else if let number = try? value.decode(Double.self) {
                self = .number(number)
            } else if let string = try? value.decode(String.self) {
                self = .string(string)
            } else {
                self = .other
            }
        }
    }

    let members: [String: Member]

    init(_ data: Data, allowed: [String], what: String) throws(OutboxEnvelopeDefect) {
        guard let members = try? JSONDecoder().decode([String: Member].self, from: data) else { throw .malformed("\(what) is not a JSON object") }
        let unknown = members.keys.filter { !allowed.contains($0) }.sorted()
        guard unknown.isEmpty else { throw .malformed("unknown fields in \(what): \(unknown.joined(separator: ", "))") }
        self.members = members
    }

    func string(_ key: String) -> String? { if case .string(let string)? = members[key] { string } else { nil } }
    func base64(_ key: String) -> Data? { string(key).flatMap { Data(base64Encoded: $0) } }
    func isNullOrAbsent(_ key: String) -> Bool { if case .null? = members[key] { true } else { members[key] == nil } }
    func int(_ key: String) -> Int? {
        if case .number(let number)? = members[key], number == number.rounded(), abs(number) < 1e15 { Int(number) } else { nil }
    }
}
