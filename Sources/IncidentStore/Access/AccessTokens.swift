import Crypto
import Foundation
import PostgresLibpq

/// What a token may do (docs/api.md, Authentication and roles). `metrics` is for Prometheus scrapers: it may read
/// `/metrics` and nothing else.
public enum Role: String, Sendable, Codable, CaseIterable {
    case reporter, reviewer, analyst, admin, metrics

    /// The roles as a user types them, for messages: "reporter, reviewer, analyst, admin, metrics".
    public static var spelled: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// Who is acting: a token's name and role.
public struct Principal: Sendable, Equatable {
    public var name: String
    public var role: Role

    public init(name: String, role: Role) {
        self.name = name
        self.role = role
    }
}

/// A token as listed (never the secret).
public struct TokenInfo: Sendable, Codable, Equatable {
    public var name: String
    public var role: Role
    public var createdAt: Date
    public var expiresAt: Date?
    public var revokedAt: Date?

    enum CodingKeys: String, CodingKey {
        case name, role, createdAt = "created_at", expiresAt = "expires_at", revokedAt = "revoked_at"
    }
}

public enum TokenError: Error, Equatable, CustomStringConvertible {
    case invalidName(String)
    case nameInUse(String)
    case notFound(String)

    public var description: String {
        switch self {
        case .invalidName(let name): "invalid token name '\(name)': letters, digits and . _ @ - only, at most 64"
        case .nameInUse(let name): "a token named '\(name)' exists or existed; names are never reused, choose another"
        case .notFound(let name): "no token named '\(name)'"
        }
    }
}

/// API tokens: 256 random bits, shown once, stored only as SHA-256, compared in constant time.
public struct AccessTokens: Sendable {
    public let pool: ConnectionPool
    /// Remembers found tokens when its owner keeps it informed (the daemon does); nil: always ask.
    public let cache: TokenCache?

    public init(pool: ConnectionPool, cache: TokenCache? = nil) {
        self.pool = pool
        self.cache = cache
    }

    /// A token's name: letters, digits and `. _ @ -`, at most 64, starting with a letter or digit.
    public static func isValidName(_ name: String) -> Bool {
        name.range(of: #"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"#, options: .regularExpression) != nil
    }

    /// Creates a token and returns its secret (the only time it exists outside the caller's hands).
    ///
    /// Names are unique for good: a revoked token's name is not given out again. The token and
    /// its audit record (``AccessAudit``) are written in one transaction.
    /// - Parameter actor: who makes it (an admin's request; by default the local user, as
    ///   `incidentd token create` is).
    public func create(name: String, role: Role, expiresAt: Date? = nil, by actor: AccessAudit.Actor = .local) async throws -> String {
        guard Self.isValidName(name) else {
            throw TokenError.invalidName(name)
        }
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for index in bytes.indices { bytes[index] = generator.next() }
        let secret = "il_" + Data(bytes).base64URL
        let hash = Self.hash(secret)
        // A name is never reused, revoked or not: incidents belong to their reporter's name, and a
        // new holder must not inherit them.
        let inserted = try await pool.withTransaction { connection in
            let inserted = try connection.query(
                """
                INSERT INTO api_tokens (name, role, token_hash, expires_at) VALUES ($1, $2, decode($3, 'hex'), $4)
                ON CONFLICT (name) DO NOTHING
                """, [name, role.rawValue, hash, expiresAt]
            ).affectedRows
            if inserted == 1 { try AccessAudit.record(.init(.tokenCreate, by: actor, target: name), on: connection) }
            return inserted
        }
        guard inserted == 1 else { throw TokenError.nameInUse(name) }
        return secret
    }

    public func list() async throws -> [TokenInfo] {
        try await pool.withConnection { connection in
            try connection.query("SELECT name, role, created_at, expires_at, revoked_at FROM api_tokens ORDER BY name").rows.map { row in
                TokenInfo(
                    name: try row.decode(0), role: Role(rawValue: try row.decode(1)) ?? .reporter,
                    createdAt: try row.decode(2), expiresAt: try row.decodeIfPresent(3), revokedAt: try row.decodeIfPresent(4)
                )
            }
        }
    }

    /// Revokes a token by name; it stops working at once. The revocation and its audit record
    /// are written in one transaction.
    /// - Parameter actor: who revokes it (by default the local user, as `incidentd token revoke` is).
    public func revoke(name: String, by actor: AccessAudit.Actor = .local) async throws {
        let updated = try await pool.withTransaction { connection in
            let updated = try connection.query("UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE name = $1", [name]).affectedRows
            if updated == 1 { try AccessAudit.record(.init(.tokenRevoke, by: actor, target: name), on: connection) }
            return updated
        }
        guard updated == 1 else { throw TokenError.notFound(name) }
        cache?.forgetAll()
    }

    /// The principal a presented token stands for, or nil when it is unknown, revoked or expired.
    public func authenticate(_ secret: String) async throws -> Principal? {
        guard secret.hasPrefix("il_"), secret.utf8.count < 200 else { return nil }
        let hash = Self.hash(secret)
        if let principal = cache?.principal(hash: hash, now: Date()) { return principal }
        let generation = cache?.generation
        let row = try await pool.withConnection { connection in
            try connection.query(
                """
                SELECT name, role, encode(token_hash, 'hex'), expires_at FROM api_tokens
                WHERE token_hash = decode($1, 'hex') AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
                """, [hash]
            ).first
        }
        guard let row, let role = Role(rawValue: try row.decode(1)) else { return nil }
        // The index found it by hash; compare the full hash in constant time all the same.
        let stored: String = try row.decode(2)
        guard Self.constantTimeEqual(Array(stored.utf8), Array(hash.utf8)) else { return nil }
        let principal = Principal(name: try row.decode(0), role: role)
        cache?.remember(.init(principal: principal, expiresAt: try row.decodeIfPresent(3)), hash: hash, since: generation)
        return principal
    }

    static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).hexString
    }

    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
