import Crypto
import Foundation
import PostgresLibpq

/// The web console's sessions (`console_sessions`): a browser signs in with a token and gets a
/// random secret in a cookie; only the secret's SHA-256 is stored.
///
/// A session stands for its token's principal for at most ``absoluteLifetime`` from sign-in and
/// ends after ``idleLifetime`` without a request; a revoked or expired token ends it at once.
public struct ConsoleSessions: Sendable {
    public static let absoluteLifetime: Duration = .seconds(8 * 3600)
    public static let idleLifetime: Duration = .seconds(30 * 60)

    public let pool: ConnectionPool

    public init(pool: ConnectionPool) { self.pool = pool }

    /// Opens a session for the holder of `tokenName`; returns the secret for the cookie. Sessions
    /// past their lifetime are removed on the way, so the table holds only live ones.
    public func open(for tokenName: String) async throws -> String {
        let secret = Self.newSecret()
        try await pool.withConnection { connection in
            try connection.query("DELETE FROM console_sessions WHERE " + Self.ended())
            try connection.query("INSERT INTO console_sessions (secret_hash, token_name) VALUES (decode($1, 'hex'), $2)", [Self.hash(secret), tokenName])
        }
        return secret
    }

    /// How stale `last_seen_at` may get before a request writes it again: a page view is then a
    /// read, not a commit, and the idle lifetime holds to within this.
    static let touchInterval = 60

    /// The principal of a live session, which this request keeps alive; nil when the secret is
    /// unknown, the session ended or its token no longer works.
    public func principal(secret: String) async throws -> Principal? {
        guard Self.isWellFormed(secret) else { return nil }
        let row = try await pool.withConnection { connection in
            try connection.query(
                """
                WITH live AS (
                    SELECT s.secret_hash, s.last_seen_at, t.name, t.role FROM console_sessions s JOIN api_tokens t ON t.name = s.token_name
                    WHERE s.secret_hash = decode($1, 'hex') AND NOT \(Self.ended("s"))
                      AND t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())
                ), touched AS (
                    UPDATE console_sessions SET last_seen_at = now()
                    WHERE secret_hash IN (SELECT secret_hash FROM live WHERE last_seen_at < now() - interval '\(Self.touchInterval) seconds')
                )
                SELECT name, role FROM live
                """, [Self.hash(secret)]
            ).first
        }
        guard let row, let role = Role(rawValue: try row.decode(1)) else { return nil }
        return Principal(name: try row.decode(0), role: role)
    }

    /// Ends a session (sign-out); ending an unknown one is not an error.
    public func close(secret: String) async throws {
        guard Self.isWellFormed(secret) else { return }
        _ = try await pool.withConnection { try $0.query("DELETE FROM console_sessions WHERE secret_hash = decode($1, 'hex')", [Self.hash(secret)]) }
    }

    /// The form token of a session: derived from its secret, so it needs no storage and cannot be
    /// computed from anything the database holds.
    public static func formToken(secret: String) -> String {
        Data(SHA256.hash(data: Data("incident-log console form\0\(secret)".utf8))).base64URL
    }

    /// The condition of a session past either lifetime, on `console_sessions` named `table`.
    static func ended(_ table: String = "console_sessions") -> String {
        "(\(table).created_at <= now() - interval '\(Int(absoluteLifetime.components.seconds)) seconds'"
            + " OR \(table).last_seen_at <= now() - interval '\(Int(idleLifetime.components.seconds)) seconds')"
    }

    /// A random token for a form shown before there is a session (the sign-in form).
    public static func newFormToken() -> String { newSecret() }

    static func newSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }).base64URL
    }

    static func isWellFormed(_ secret: String) -> Bool { secret.utf8.count == 43 }

    /// The stored form of a secret, in hex for its parameter.
    static func hash(_ secret: String) -> String { SHA256.hash(data: Data(secret.utf8)).hexString }
}

extension Data {
    /// Base64 with the URL- and cookie-safe alphabet, unpadded.
    var base64URL: String {
        base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}
