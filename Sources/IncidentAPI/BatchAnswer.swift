import Foundation

/// The answer of `POST /v1/incidents:batch` (docs/api.md, Batch import) as a client reads it:
/// how many lines were stored, how many were stored before, and each other line by its number.
public struct BatchAnswer: Decodable, Sendable, Equatable {
    public struct Rejection: Decodable, Sendable, Equatable {
        /// The line's number in the body, from 1, blank lines counted.
        public var line: Int
        public var error: ErrorBody.Failure
    }

    public var accepted: Int
    public var replayed: Int
    public var rejected: [Rejection]

    /// The answer in a response body; nil when the body is not one.
    public init?(decoding body: Data) {
        guard let decoded = try? JSONDecoder().decode(BatchAnswer.self, from: body) else { return nil }
        self = decoded
    }
}
