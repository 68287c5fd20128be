import Crypto
import Foundation
import PostgresLibpq

/// The only owner of `subscriptions` and `subscription_dead_letters`: their definitions, places in the log, delivery state and dead letters; the
/// scan that finds what each delivers; and the audited changes admins make.
public struct Subscriptions: Sendable {
    /// Tries of one event before it goes to the dead letters.
    public static let maxAttempts = 12

    let pool: ConnectionPool
    let keys: KeyRing
    let narrative: NarrativeVault
    let reference: ReferenceData

    public init(pool: ConnectionPool, keys: KeyRing, reference: ReferenceData) {
        self.pool = pool
        self.keys = keys
        self.narrative = NarrativeVault(keys: keys)
        self.reference = reference
    }

    /// What a new subscription is.
    public struct New: Sendable {
        public var name: String
        public var filter: SubscriptionFilter
        public var target: Subscription.Target
        public var start: SubscriptionStart
        public var consumers: [String]
        public var includeConfidential: Bool

        public init(
            name: String, filter: SubscriptionFilter, target: Subscription.Target, start: SubscriptionStart, consumers: [String], includeConfidential: Bool
        ) {
            (self.name, self.filter, self.target, self.start, self.consumers, self.includeConfidential) = (
                name, filter, target, start, consumers, includeConfidential
            )
        }
    }

    // MARK: - Admin changes, each with its audit record in the same transaction

    /// Stores a subscription. A webhook's signing secret (`whsec_` and 32 random bytes in
    /// base64, the Standard Webhooks form) is returned here once and kept only wrapped.
    /// - Throws: ``SubscriptionError``.
    public func create(_ new: New, by actor: AccessAudit.Actor) async throws -> (Subscription, secret: String?) {
        let checkpointGiven: Checkpoint? =
            switch new.start {
            case .now: nil
            case .beginning: .start
            case .after(let checkpoint): checkpoint
            }
        let secret: Data? = if case .webhook = new.target { SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) } } else { nil }
        let created = try await pool.withTransaction { [keys] connection -> Bool in
            let checkpoint = try checkpointGiven ?? LogReads.head(on: connection)
            var wrapped: WrappedKey?
            if let secret {
                wrapped = try keys.wrap(SymmetricKey(data: secret), purpose: .webhook, subject: new.name, under: try keys.currentForNewKeys(on: connection))
            }
            let url: String? = if case .webhook(let url) = new.target { url } else { nil }
            let inserted = try connection.query(
                """
                INSERT INTO subscriptions (name, filter, target_kind, target_url, secret_master_key_id, secret_wrapped, consumers,
                    include_confidential, checkpoint_transaction, checkpoint_position, created_by)
                VALUES ($1, $2::jsonb, $3, $4, $5, decode($6, 'hex'), $7::text[], $8, $9::xid8, $10, $11)
                ON CONFLICT (name) DO NOTHING
                """,
                [
                    new.name, new.filter.json.encodedString, new.target.kind, url, wrapped?.masterKeyID, wrapped?.bytes.hexString,
                    postgresArray(new.consumers), new.includeConfidential, checkpoint.transactionID, checkpoint.position, actor.principal,
                ]
            ).affectedRows
            guard inserted == 1 else { return false }
            try AccessAudit.record(.init(.subscriptionCreate, by: actor, target: new.name), on: connection)
            return true
        }
        guard created, let subscription = try await get(new.name) else { throw SubscriptionError.exists(new.name) }
        return (subscription, secret.map { "whsec_" + $0.base64EncodedString() })
    }

    /// Pauses or resumes; nil when there is no such subscription.
    public func setPaused(_ name: String, _ paused: Bool, by actor: AccessAudit.Actor) async throws -> Subscription? {
        let found = try await pool.withTransaction { connection -> Bool in
            guard try connection.query("UPDATE subscriptions SET paused = $2 WHERE name = $1", [name, paused]).affectedRows == 1 else { return false }
            try AccessAudit.record(.init(paused ? .subscriptionPause : .subscriptionResume, by: actor, target: name), on: connection)
            return true
        }
        return found ? try await get(name) : nil
    }

    /// Deletes a subscription and its dead letters; false when there was none.
    public func delete(_ name: String, by actor: AccessAudit.Actor) async throws -> Bool {
        try await pool.withTransaction { connection in
            guard try connection.query("DELETE FROM subscriptions WHERE name = $1", [name]).affectedRows == 1 else { return false }
            try AccessAudit.record(.init(.subscriptionDelete, by: actor, target: name), on: connection)
            return true
        }
    }

    /// Sends a dead letter again (its tries counted afresh); false when there is no such one.
    public func retry(_ name: String, eventID: UUID, by actor: AccessAudit.Actor) async throws -> Bool {
        try await pool.withTransaction { connection in
            let updated = try connection.query(
                """
                UPDATE subscription_dead_letters SET retrying = true, attempts = 0, next_attempt_at = now()
                WHERE subscription = $1 AND event_id = $2
                """, [name, eventID]
            ).affectedRows
            guard updated == 1 else { return false }
            try AccessAudit.record(.init(.subscriptionRetry, by: actor, target: name), on: connection)
            return true
        }
    }

    // MARK: - Reads

    /// Every subscription, its columns in the order ``subscription(_:)`` reads them.
    static let selectAll = """
        SELECT name, filter::text, target_kind, target_url, consumers::text, include_confidential, paused, checkpoint_transaction::text,
            checkpoint_position, attempts, next_attempt_at, last_error, delivered, last_delivery::text, created_at, created_by
        FROM subscriptions
        """

    public func get(_ name: String) async throws -> Subscription? {
        try await pool.withConnection { try Self.get(name, on: $0) }
    }

    static func get(_ name: String, on connection: PostgresConnection) throws -> Subscription? {
        try connection.query(selectAll + " WHERE name = $1", [name]).first.map(Self.subscription(_:))
    }

    public func list() async throws -> [Subscription] {
        try await pool.withConnection { connection in
            try connection.query(Self.selectAll + " ORDER BY name").rows.map(Self.subscription(_:))
        }
    }

    private static func subscription(_ row: Row) throws -> Subscription {
        let url: String? = try row.decodeIfPresent(3)
        let lastDelivery: String? = try row.decodeIfPresent(13)
        return Subscription(
            name: try row.decode(0), filter: SubscriptionFilter(stored: try JSONValue.parse(Data(try row.decode(1, as: String.self).utf8))),
            target: try row.decode(2, as: String.self) == "webhook" ? .webhook(url: url ?? "") : .pull,
            consumers: try Self.textArray(try row.decode(4)), includeConfidential: try row.decode(5), paused: try row.decode(6),
            checkpoint: Checkpoint(transactionID: try row.decode(7), position: try row.decode(8)), attempts: try row.decode(9),
            nextAttemptAt: try row.decodeIfPresent(10), lastError: try row.decodeIfPresent(11), delivered: try row.decode(12),
            lastDelivery: try lastDelivery.map { try JSONValue.parse(Data($0.utf8)) }, createdAt: try row.decode(14), createdBy: try row.decode(15)
        )
    }

    /// A text[] of names as PostgreSQL writes it (`{a,b}`); names hold no quotes or commas.
    private static func textArray(_ text: String) throws -> [String] {
        let inner = text.dropFirst().dropLast()
        return inner.isEmpty ? [] : inner.split(separator: ",").map { String($0).trimmingCharacters(in: CharacterSet(charactersIn: "\"")) }
    }

    public func deadLetters(_ name: String) async throws -> [DeadLetter] {
        try await pool.withConnection { connection in
            try connection.query(
                """
                SELECT event_id, global_position, attempts, last_error, dead_at, retrying, next_attempt_at
                FROM subscription_dead_letters WHERE subscription = $1 ORDER BY global_position
                """, [name]
            ).rows.map { row in
                DeadLetter(
                    eventID: try row.decode(0), globalPosition: try row.decode(1), attempts: try row.decode(2), lastError: try row.decodeIfPresent(3),
                    deadAt: try row.decode(4), retrying: try row.decode(5), nextAttemptAt: try row.decodeIfPresent(6))
            }
        }
    }

    /// Events committed after the subscription's checkpoint (matching or not).
    public func lag(_ subscription: Subscription) async throws -> Int {
        try await pool.withConnection { try LogReads.count(after: subscription.checkpoint, on: $0) }
    }

    /// The webhook's signing key (the secret's 32 bytes).
    public func secret(of name: String) async throws -> Data? {
        try await pool.withConnection { [keys] connection in
            guard
                let row = try connection.query(
                    "SELECT secret_master_key_id, encode(secret_wrapped, 'hex') FROM subscriptions WHERE name = $1 AND secret_wrapped IS NOT NULL", [name]
                ).first
            else { return nil }
            let wrapped = WrappedKey(masterKeyID: try row.decode(0), bytes: Data(hex: try row.decode(1, as: String.self)))
            return try keys.unwrap(wrapped, purpose: .webhook, subject: name, on: connection).withUnsafeBytes { Data($0) }
        }
    }

    // MARK: - The scan

    /// The events after `checkpoint` that `subscription` delivers, in commit-safe order, at most
    /// `limit`, reading at most `scanLimit` events of the log. The checkpoint returned is after the
    /// last match when `limit` was reached, else after the last event read: everything up to it
    /// has been looked at.
    public func scan(
        _ subscription: Subscription, after checkpoint: Checkpoint, limit: Int, scanLimit: Int = 5000
    ) async throws -> (
        matches: [SubscriptionMatch], checkpoint: Checkpoint
    ) {
        try await pool.withConnection { [narrative, reference] connection in
            var cursor = checkpoint
            var matches: [SubscriptionMatch] = []
            var scanned = 0
            let pageSize = 500
            while scanned < scanLimit {
                let page = try EventStore.read(after: cursor, limit: pageSize, on: connection)
                scanned += page.events.count
                let candidates = page.events.filter { event in
                    IncidentEvent.incidentID(fromStream: event.stream) != nil
                        && (subscription.filter.eventTypes.isEmpty || subscription.filter.eventTypes.contains(event.type))
                }
                let hidden =
                    subscription.includeConfidential || candidates.isEmpty ? [] : try Disclosure.hiddenStreams(Array(Set(candidates.map(\.stream))), on: connection)
                var streams: [String: [RecordedEvent]] = [:]
                let wanted = Set(candidates.map(\.eventID))
                for event in page.events {
                    cursor = event.checkpoint
                    guard wanted.contains(event.eventID), !hidden.contains(event.stream), let incidentID = IncidentEvent.incidentID(fromStream: event.stream) else {
                        continue
                    }
                    if streams[event.stream] == nil { streams[event.stream] = try narrative.events(of: incidentID, on: connection) }
                    let history = streams[event.stream]!.filter { $0.streamVersion <= event.streamVersion }
                    guard let opened = history.last, opened.eventID == event.eventID, let state = try IncidentState.fold(history),
                        subscription.filter.matches(type: event.type, state: state, regions: reference.regions)
                    else { continue }
                    matches.append(SubscriptionMatch(event: opened, state: state))
                    if matches.count >= limit { return (matches, cursor) }
                }
                if page.events.count < pageSize { break }
            }
            return (matches, cursor)
        }
    }

    /// The dead letter an admin asked to send again whose next try is due, with its event.
    public func dueRetry(_ subscription: Subscription) async throws -> (DeadLetter, SubscriptionMatch)? {
        try await pool.withConnection { [narrative] connection in
            guard
                let row = try connection.query(
                    """
                    SELECT event_id, global_position, attempts, last_error, dead_at, retrying, next_attempt_at FROM subscription_dead_letters
                    WHERE subscription = $1 AND retrying AND next_attempt_at <= now() ORDER BY global_position LIMIT 1
                    """, [subscription.name]
                ).first
            else { return nil }
            let letter = DeadLetter(
                eventID: try row.decode(0), globalPosition: try row.decode(1), attempts: try row.decode(2), lastError: try row.decodeIfPresent(3),
                deadAt: try row.decode(4), retrying: try row.decode(5), nextAttemptAt: try row.decodeIfPresent(6))
            guard let event = try EventStore.read(at: [letter.globalPosition], on: connection).first,
                let incidentID = IncidentEvent.incidentID(fromStream: event.stream)
            else { return nil }
            let history = try narrative.events(of: incidentID, on: connection).filter { $0.streamVersion <= event.streamVersion }
            guard let opened = history.last, let state = try IncidentState.fold(history) else { return nil }
            return (letter, SubscriptionMatch(event: opened, state: state))
        }
    }

    // MARK: - Delivery state, moved only from where the mover found it

    /// Moves the checkpoint from `expected` to `checkpoint`, clearing the head's failures;
    /// `delivery` (an answer the receiver gave) counts one delivered. False when the checkpoint
    /// was no longer `expected` (another dispatcher, an ack, a delete): nothing is written.
    public func advance(_ name: String, from expected: Checkpoint, to checkpoint: Checkpoint, delivery: JSONValue? = nil) async throws -> Bool {
        try await pool.withConnection { connection in
            try connection.query(
                """
                UPDATE subscriptions SET checkpoint_transaction = $2::xid8, checkpoint_position = $3, attempts = 0, next_attempt_at = NULL,
                    last_error = NULL, delivered = delivered + $4, last_delivery = coalesce($5::jsonb, last_delivery)
                WHERE name = $1 AND checkpoint_transaction = $6::xid8 AND checkpoint_position = $7
                """,
                [
                    name, checkpoint.transactionID, checkpoint.position, delivery == nil ? 0 : 1, delivery?.encodedString,
                    expected.transactionID, expected.position,
                ]
            ).affectedRows == 1
        }
    }

    /// Records a failed try of the event after `expected`. At the last try the event goes to
    /// the dead letters and the checkpoint past it, in one transaction.
    /// - Returns: false when the checkpoint was no longer `expected`.
    public func failed(
        _ name: String, at expected: Checkpoint, event: RecordedEvent, attempts: Int, error: String, next: Date, delivery: JSONValue
    ) async throws -> Bool {
        try await pool.withTransaction { connection in
            let dead = attempts >= Self.maxAttempts
            let updated = try connection.query(
                """
                UPDATE subscriptions SET attempts = $2, next_attempt_at = $3, last_error = $4, last_delivery = $5::jsonb
                WHERE name = $1 AND checkpoint_transaction = $6::xid8 AND checkpoint_position = $7
                """, [name, dead ? 0 : attempts, dead ? nil : next, error, delivery.encodedString, expected.transactionID, expected.position]
            ).affectedRows
            guard updated == 1 else { return false }
            guard dead else { return true }
            try connection.query(
                """
                INSERT INTO subscription_dead_letters (subscription, event_id, global_position, attempts, last_error) VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (subscription, event_id) DO UPDATE SET attempts = $4, last_error = $5, dead_at = now(), retrying = false, next_attempt_at = NULL
                """, [name, event.eventID, event.globalPosition, attempts, error])
            try connection.query(
                "UPDATE subscriptions SET checkpoint_transaction = $2::xid8, checkpoint_position = $3, attempts = 0, next_attempt_at = NULL WHERE name = $1",
                [name, event.checkpoint.transactionID, event.checkpoint.position])
            return true
        }
    }

    /// A retried dead letter was delivered: it goes, and counts one delivered.
    public func retried(_ name: String, eventID: UUID, delivery: JSONValue) async throws {
        try await pool.withTransaction { connection in
            guard try connection.query("DELETE FROM subscription_dead_letters WHERE subscription = $1 AND event_id = $2", [name, eventID]).affectedRows == 1 else {
                return
            }
            try connection.query("UPDATE subscriptions SET delivered = delivered + 1, last_delivery = $2::jsonb WHERE name = $1", [name, delivery.encodedString])
        }
    }

    /// A retried dead letter failed again: after ``maxAttempts`` more tries it rests again.
    public func retryFailed(_ name: String, eventID: UUID, attempts: Int, error: String, next: Date) async throws {
        try await pool.withConnection { connection in
            let resting = attempts >= Self.maxAttempts
            try connection.query(
                """
                UPDATE subscription_dead_letters SET attempts = $3, last_error = $4, retrying = $5, next_attempt_at = $6, dead_at = CASE WHEN $5 THEN dead_at ELSE now() END
                WHERE subscription = $1 AND event_id = $2
                """, [name, eventID, attempts, error, !resting, resting ? nil : next])
        }
    }

    /// A pull consumer's acknowledgement: the checkpoint moves forward to it, never back.
    /// - Returns: the checkpoint now stored; nil when there is no such subscription.
    public func acknowledge(_ name: String, checkpoint: Checkpoint) async throws -> Checkpoint? {
        try await pool.withConnection { connection in
            try connection.query(
                """
                UPDATE subscriptions SET checkpoint_transaction = $2::xid8, checkpoint_position = $3
                WHERE name = $1 AND (checkpoint_transaction, checkpoint_position) < ($2::xid8, $3::bigint)
                """, [name, checkpoint.transactionID, checkpoint.position])
            return try Self.get(name, on: connection)?.checkpoint
        }
    }
}
