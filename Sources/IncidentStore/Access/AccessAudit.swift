import Foundation
import PostgresLibpq

/// The access audit (docs/operations.md, The access audit): who read personal data, erased or redacted an incident,
/// made or revoked a token, rebuilt a projection, or delivered personal data through the outbox;
/// when, from where, and why. The only code that names the table `access_audit` (migration 0019),
/// which nobody may change or empty, its owner included.
///
/// Each record is written by ``record(_:on:)`` in the transaction of the action it records, so
/// an action whose record cannot be written does not happen. A record holds no personal data and
/// no text sealed in the log (an erasure's or a redaction's reason stays there, redactable): only
/// who, when, what, on which incident or object, and the reason given for a read of personal data.
public enum AccessAudit {
    /// What is audited. A new audited action is a case here.
    public enum Action: String, Sendable, CaseIterable, Codable {
        /// An admin read an incident's personal data (`GET /v1/incidents/{id}?include=personal`).
        case personalDataRead = "personal_data.read"
        /// An incident's personal data was erased (its key destroyed).
        case personalDataErase = "personal_data.erase"
        /// An incident's free text was redacted (its narrative key destroyed).
        case narrativeRedact = "narrative.redact"
        case tokenCreate = "token.create"
        case tokenRevoke = "token.revoke"
        /// A projection rebuild started (its shadows were reset).
        case projectionRebuild = "projection.rebuild"
        /// An outbox envelope whose write carried personal data was delivered and run.
        case outboxDeliver = "outbox.deliver"
        /// A subscription was made, paused, resumed or deleted, or a dead letter sent again.
        case subscriptionCreate = "subscription.create"
        case subscriptionPause = "subscription.pause"
        case subscriptionResume = "subscription.resume"
        case subscriptionDelete = "subscription.delete"
        case subscriptionRetry = "subscription.retry"
    }

    /// Who acts, and through which request.
    public struct Actor: Sendable, Equatable {
        /// A token's name, or `local:<user>` for a command run on the server with database access.
        public var principal: String
        /// A token's role, or `operator` for a local command.
        public var role: String
        public var requestID: String?
        /// The client's IP address (or `unix` for a Unix socket); nil for a local command.
        public var clientAddress: String?

        public init(principal: String, role: String, requestID: String? = nil, clientAddress: String? = nil) {
            self.principal = principal
            self.role = role
            self.requestID = requestID.map { String($0.prefix(200)) }
            self.clientAddress = clientAddress.map { String($0.prefix(200)) }
        }

        /// The operating-system user running a local command (`incidentd token`, a test, a
        /// script): the database access it has is its authority.
        public static var local: Actor {
            let name =
                getpwuid(geteuid()).flatMap { $0.pointee.pw_name.map { String(cString: $0) } }
                ?? ProcessInfo.processInfo.environment["USER"] ?? "uid-\(geteuid())"
            return Actor(principal: "local:" + name, role: "operator")
        }
    }

    /// One record to write.
    public struct Entry: Sendable, Equatable {
        public var actor: Actor
        public var action: Action
        public var incidentID: UUID?
        /// What the action was on when it is not an incident: a token's name, a projection's name.
        public var target: String?
        /// Why, as the actor said (the `X-Access-Reason` of a read of personal data).
        public var reason: String?

        public init(_ action: Action, by actor: Actor, incidentID: UUID? = nil, target: String? = nil, reason: String? = nil) {
            self.actor = actor
            self.action = action
            self.incidentID = incidentID
            self.target = target
            self.reason = reason
        }
    }

    /// A stored record.
    public struct Record: Sendable, Equatable {
        public var id: Int64
        public var at: Date
        public var principal: String
        public var role: String
        public var action: String
        public var incidentID: UUID?
        public var target: String?
        public var reason: String?
        public var requestID: String?
        public var clientAddress: String?
    }

    /// Writes `entry` in the caller's transaction.
    /// - Throws: ``AccessAuditError/notRecorded(_:)`` when it cannot be written; the caller's
    ///   transaction is then aborted, and the action must not happen.
    public static func record(_ entry: Entry, on connection: PostgresConnection) throws(AccessAuditError) {
        do {
            try connection.query(
                """
                INSERT INTO access_audit (principal, role, action, incident_id, target, reason, request_id, client_address)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                """,
                [
                    entry.actor.principal, entry.actor.role, entry.action.rawValue, entry.incidentID, entry.target,
                    entry.reason, entry.actor.requestID, entry.actor.clientAddress,
                ])
        } catch {
            throw .notRecorded(error)
        }
    }

    // MARK: - The reason for a read

    /// The bounds of a reason given for a read of personal data, in characters.
    public static let reasonLength = 5...500

    /// The reason a reader gave (the `X-Access-Reason` header), checked: 5 to 500 characters
    /// (Unicode scalars, as JSON Schema counts them), not all blank, no control characters.
    /// - Throws: ``AccessReasonError``.
    public static func accessReason(_ text: String?) throws(AccessReasonError) -> String {
        guard let text, !text.allSatisfy(\.isWhitespace) else { throw .missing }
        guard reasonLength.contains(text.unicodeScalars.count), !text.unicodeScalars.contains(where: { $0.properties.generalCategory == .control }) else {
            throw .outOfBounds
        }
        return text
    }

    // MARK: - Reading it

    /// The filters of `GET /v1/admin/audit` and `ictl admin audit`, as given.
    public struct Filter: Sendable {
        /// A timestamp (RFC 3339) or a Kosovo day (`YYYY-MM-DD`, from its start).
        public var since: String?
        /// A timestamp (RFC 3339) or a Kosovo day (`YYYY-MM-DD`, up to its end).
        public var until: String?
        public var principal: String?
        public var action: String?
        public var incident: String?
        public var limit = 100
        public var cursor: String?

        public init() {}
    }

    public static let maximumPageSize = 1000

    /// One page of records, oldest first, and the cursor of the next (nil on the last page).
    public struct Page: Sendable {
        public var items: [Record]
        public var nextCursor: String?
    }

    /// The records that match `filter`, oldest first.
    /// - Throws: ``ServiceError/invalid(_:)`` naming every bad filter.
    public static func page(_ filter: Filter, on connection: PostgresConnection) throws -> Page {
        var query = try AuditListQuery(filter)
        let sql =
            "SELECT id, at, principal, role, action, incident_id, target, reason, request_id, client_address FROM access_audit"
            + query.whereClause + " ORDER BY id LIMIT " + query.bind(filter.limit + 1)
        let rows = try connection.query(sql, query.parameters).rows
        let items = try rows.prefix(filter.limit).map { row in
            Record(
                id: try row.decode(0), at: try row.decode(1), principal: try row.decode(2), role: try row.decode(3), action: try row.decode(4),
                incidentID: try row.decodeIfPresent(5), target: try row.decodeIfPresent(6), reason: try row.decodeIfPresent(7),
                requestID: try row.decodeIfPresent(8), clientAddress: try row.decodeIfPresent(9)
            )
        }
        let next = rows.count > filter.limit ? items.last.map { Data("a1.\($0.id)".utf8).base64EncodedString() } : nil
        return Page(items: items, nextCursor: next)
    }

    /// An RFC 3339 timestamp between the years 1 and 9999 (PostgreSQL's range is wider; a
    /// request's is not).
    static func timestamp(_ text: String) -> Date? {
        guard text.count <= 40 else { return nil }
        let date =
            (try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text))
            ?? (try? Date.ISO8601FormatStyle().parse(text))
        guard let date, date > Date(timeIntervalSince1970: -62_135_596_800), date < Date(timeIntervalSince1970: 253_402_300_799) else { return nil }
        return date
    }
}

/// An audit record that could not be written: the action it records did not happen either.
public enum AccessAuditError: Error, CustomStringConvertible, CustomDebugStringConvertible {
    case notRecorded(any Error)

    public var description: String { "the access audit cannot be written now, so nothing was done" }
    public var debugDescription: String {
        switch self {
        case .notRecorded(let error): "access audit insert failed: \((error as? DatabaseError)?.debugDescription ?? String(reflecting: error))"
        }
    }
}

/// A reason for a read of personal data that is missing or out of bounds.
public enum AccessReasonError: Error, Equatable, CustomStringConvertible {
    case missing
    case outOfBounds

    public var description: String {
        switch self {
        case .missing: "reading personal data needs a reason: the X-Access-Reason header (5 to 500 characters)"
        case .outOfBounds: "X-Access-Reason must be 5 to 500 characters, without control characters"
        }
    }
}
