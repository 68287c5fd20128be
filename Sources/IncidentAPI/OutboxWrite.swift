import Foundation

/// The write a sealed envelope carries: a request as ictl would have sent it online.
public struct OutboxWrite: Sendable, Equatable {
    public var method: String
    public var path: String
    public var idempotencyKey: String?
    /// The request body, byte for byte.
    public var body: Data

    public init(method: String, path: String, idempotencyKey: String? = nil, body: Data) {
        (self.method, self.path, self.idempotencyKey, self.body) = (method, path, idempotencyKey, body)
    }
}

/// Why an envelope is refused, in words its sender can act on.
public enum OutboxEnvelopeDefect: Error, Equatable {
    /// The envelope, or the write inside it, is not what the format says; the message names the defect.
    case malformed(String)
    /// The envelope does not open: it was altered, or sealed to another key.
    case unopenable
}
