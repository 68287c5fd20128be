import Foundation
import HTTPTypes
import Hummingbird
import IncidentStore

@testable import IncidentDaemon

/// Checks responses against `OpenAPI.document`: the status must be documented for the operation,
/// and a JSON body must match its schema.
enum OpenAPICheck {
    static var document: JSONValue { OpenAPI.document }

    /// The documented path template a concrete path falls under (`/v1/incidents/{id}`).
    static func template(for path: String) -> String? { OpenAPI.template(for: path) }

    /// What is wrong with a response, empty when it matches the document.
    static func problems(method: HTTPRequest.Method, path: String, status: Int, body: JSONValue?, contentType: String?) -> [String] {
        guard let template = template(for: path) else { return ["\(path) is not in the OpenAPI document"] }
        guard let operation = document.objectValue?["paths"]?.objectValue?[template]?.objectValue?[method.rawValue.lowercased()] else {
            return ["\(method) \(template) is not in the OpenAPI document"]
        }
        guard let response = operation.objectValue?["responses"]?.objectValue?[String(status)] else {
            return ["\(method) \(template) answered \(status), which the document does not list"]
        }
        guard let schema = response.objectValue?["content"]?.objectValue?["application/json"]?.objectValue?["schema"] else { return [] }
        guard contentType?.hasPrefix("application/json") == true, let body else {
            return ["\(method) \(template) \(status) should be JSON"]
        }
        return check(body, against: schema, at: "\(method) \(template) \(status)")
    }

    static func check(_ value: JSONValue, against schema: JSONValue, at location: String) -> [String] {
        guard var schema = schema.objectValue else { return [] }
        if case .string(let ref)? = schema["$ref"] {
            let name = String(ref.split(separator: "/").last!)
            guard let resolved = document.objectValue?["components"]?.objectValue?["schemas"]?.objectValue?[name]?.objectValue else {
                return ["\(location): unknown schema \(ref)"]
            }
            schema = resolved
        }
        var types: [String] = []
        switch schema["type"] {
        case .string(let type)?: types = [type]
        case .array(let list)?: types = list.compactMap(\.stringValue)
        default: break
        }
        if value == .null { return types.isEmpty || types.contains("null") ? [] : ["\(location): null where \(types) is documented"] }
        if !types.isEmpty {
            let fits = types.contains { type in
                switch (type, value) {
                case ("object", .object), ("array", .array), ("string", .string), ("boolean", .bool), ("number", .number): true
                case ("integer", .number(let n)): n == n.rounded()
                default: false
                }
            }
            if !fits { return ["\(location): \(value.typeName) where \(types) is documented"] }
        }
        if case .array(let allowed)? = schema["enum"], !allowed.contains(value) { return ["\(location): \(value) is not one of \(allowed)"] }
        var problems: [String] = []
        if case .object(let object) = value {
            let properties = schema["properties"]?.objectValue ?? [:]
            if case .array(let required)? = schema["required"] {
                for key in required.compactMap(\.stringValue) where object[key] == nil { problems.append("\(location): missing \(key)") }
            }
            for (key, item) in object {
                if let property = properties[key] {
                    problems += check(item, against: property, at: "\(location).\(key)")
                } else if schema["additionalProperties"] == false {
                    problems.append("\(location): undocumented field \(key)")
                }
            }
        }
        if case .array(let items) = value, let itemSchema = schema["items"] {
            for (index, item) in items.enumerated() { problems += check(item, against: itemSchema, at: "\(location)[\(index)]") }
        }
        return problems
    }
}
