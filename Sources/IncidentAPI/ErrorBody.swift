import Foundation

/// The body of every error answer, `{"error": {"code", "message", "details"}}` (docs/api.md,
/// Errors): what a client reads of it. `details` is open; only its `fields` have a shape here.
public struct ErrorBody: Decodable, Sendable, Equatable {
    public struct Failure: Decodable, Sendable, Equatable {
        /// The stable, machine-readable code (`validation_failed`, `not_found`, ...).
        public var code: String
        public var message: String
        /// The fields a request got wrong, each with what is wrong (`details.fields`); empty when none.
        public var fields: [FieldError]

        enum CodingKeys: String, CodingKey { case code, message, details }
        enum DetailKeys: String, CodingKey { case fields }

        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            code = try container.decode(String.self, forKey: .code)
            message = try container.decode(String.self, forKey: .message)
            let details = try? container.nestedContainer(keyedBy: DetailKeys.self, forKey: .details)
            fields = (try? details?.decodeIfPresent([FieldError].self, forKey: .fields)) ?? []
        }
    }

    public struct FieldError: Decodable, Sendable, Equatable {
        public var field: String
        public var message: String
    }

    public var error: Failure

    /// The error in an answer's body; nil when the body is not one.
    public init?(decoding body: Data) {
        guard let decoded = try? JSONDecoder().decode(ErrorBody.self, from: body) else { return nil }
        self = decoded
    }
}
