import Foundation
import PostgresLibpq

/// Who wrote an event and through what: stored with every event, never holding a token.
public struct EventMetadata: Sendable, Codable, Equatable {
    /// The token's name (the person or system acting).
    public var principal: String?
    public var role: String?
    public var requestID: String?
    /// The client software, e.g. `ictl/0.1`.
    public var client: String?
    /// SHA-256 of the request that wrote the event, so a retry under the same event id can be
    /// told from other content (reports compare their data instead).
    public var requestFingerprint: String?

    enum CodingKeys: String, CodingKey {
        case principal, role, requestID = "request_id", client, requestFingerprint = "request_fingerprint"
    }

    public init(principal: String? = nil, role: String? = nil, requestID: String? = nil, client: String? = nil) {
        self.principal = principal
        self.role = role
        self.requestID = requestID
        self.client = client
    }

    /// The stored form (absent fields are left out).
    public var json: JSONValue {
        var fields: [String: JSONValue] = [:]
        for (key, value) in [
            ("principal", principal), ("role", role), ("request_id", requestID), ("client", client),
            ("request_fingerprint", requestFingerprint),
        ] {
            if let value { fields[key] = .string(value) }
        }
        return .object(fields)
    }
}
