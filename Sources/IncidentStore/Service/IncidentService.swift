import Crypto
import Foundation
import PostgresLibpq

/// Why a command or query was refused, in terms the HTTP layer maps to status codes.
public enum ServiceError: Error, Equatable, CustomStringConvertible {
    /// No such incident, or one the caller may not see (the two are not told apart).
    case notFound
    /// The caller's role may not do this.
    case forbidden(String)
    case invalid(ValidationFailure)
    case versionConflict(current: Int)
    case idempotencyConflict(eventID: UUID)
    /// The incident's state does not allow it.
    case state(StateConflict)

    public var description: String {
        switch self {
        case .notFound: "incident not found"
        case .forbidden(let message): message
        case .invalid(let failure): failure.description
        case .versionConflict(let current): "the incident is at version \(current); reload it and try again"
        case .idempotencyConflict(let id): "event id \(id.lowercasedText) was already used for a different request"
        case .state(let conflict): conflict.description
        }
    }
}

/// Why an incident's state refuses a write.
public enum StateConflict: Sendable, Equatable, CustomStringConvertible {
    /// A report of an incident that is already reported.
    case incidentExists(UUID)
    /// A write to a retracted incident: what was attempted.
    case retracted(RetractedWrite)
    /// Personal data given again after it was erased.
    case personalDataErased
    /// An erasure of personal data already erased.
    case alreadyErased

    public enum RetractedWrite: Sendable, Equatable { case amend, decide, retract }

    public var description: String {
        switch self {
        case .incidentExists(let id): "incident \(id.lowercasedText) already exists; amend it instead"
        case .retracted(.amend): "the incident was retracted; it cannot be amended"
        case .retracted(.decide): "the incident was retracted; it cannot be verified or rejected"
        case .retracted(.retract): "the incident is already retracted"
        case .personalDataErased: "the personal data of this incident was erased; it cannot be given again"
        case .alreadyErased: "the personal data of this incident was already erased"
        }
    }
}

/// The taxonomy and regions, loaded once at start (they change only by migration).
public struct ReferenceData: Sendable {
    public var taxonomy: Taxonomy
    public var regions: RegionDirectory

    public init(taxonomy: Taxonomy, regions: RegionDirectory) {
        self.taxonomy = taxonomy
        self.regions = regions
    }

    public static func load(_ pool: ConnectionPool) async throws -> ReferenceData {
        try await pool.withConnection { ReferenceData(taxonomy: try Taxonomy.load($0), regions: try RegionDirectory.load($0)) }
    }
}

/// A line of a batch that is not JSON (in UTF-8).
public struct MalformedLine: Error {}

/// What a write returns.
public struct WriteOutcome: Sendable, Equatable {
    public var incidentID: UUID
    public var eventID: UUID
    public var streamVersion: Int
    public var globalPosition: Int64
    public var recordedAt: Date
    /// True when this was a retry of a request already stored: nothing was written.
    public var replayed: Bool
}

/// The incident commands and queries, with the role rules of docs/api.md (Authentication and
/// roles) and docs/data-model.md (Who sees what).
public struct IncidentService: Sendable {
    public let pool: ConnectionPool
    /// Where the reads that may lag a little go (lists, summaries, digests): a hot standby when
    /// there is one, else `pool`. A read of one incident uses `pool`, so a write's author sees it.
    public let reads: ReadRouting
    public let reference: ReferenceData
    public let now: @Sendable () -> Date
    let vault: PersonalDataVault
    /// Seals and opens the incidents' free text in the log.
    public let narrative: NarrativeVault
    /// Where erasures are recorded beside the master key (nil: nowhere, for tests of other things).
    let erasures: ErasureLedger?
    /// Concurrent reports commit together: one statement and one WAL flush for many.
    let reports: GroupCommit<ReportLine, WriteOutcome>
    /// What each principal may see, and how confidential incidents count in its figures.
    public let disclosure: Disclosure

    /// - Parameters:
    ///   - keys: the master keys that wrap every incident's keys.
    ///   - erasures: the erasure ledger beside the master key.
    ///   - disclosure: the small-cell threshold for analysts' figures.
    ///   - reads: where lists, summaries and digests read (default: `pool`).
    public init(
        pool: ConnectionPool, reference: ReferenceData, keys: KeyRing, erasures: ErasureLedger? = nil, disclosure: Disclosure = Disclosure(),
        reads: ReadRouting? = nil, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.pool = pool
        self.reads = reads ?? ReadRouting(primary: pool)
        self.disclosure = disclosure
        self.erasures = erasures
        self.reference = reference
        self.now = now
        let vault = PersonalDataVault(keys: keys)
        let narrative = NarrativeVault(keys: keys)
        self.vault = vault
        self.narrative = narrative
        self.reports = GroupCommit(pool: pool) { lines, connection in
            try Self.store(lines, vault: vault, narrative: narrative, on: connection)
        }
    }

    var context: ValidationContext { ValidationContext(taxonomy: reference.taxonomy, regions: reference.regions, now: now()) }

    /// The writes whose permission depends on the role alone (docs/api.md, Authentication and roles).
    public enum Action: Sendable { case report, amend, decide, retract, erase, redact, readFigures, readPersonalData }

    /// The role rule of each write: the one place it is written. The HTTP layer calls it before it
    /// reads a body, so a refusal is a 403 whatever the body holds.
    /// - Throws: ``ServiceError/forbidden(_:)``.
    public static func authorize(_ action: Action, _ principal: Principal) throws(ServiceError) {
        // The HTTP layer stops metrics tokens before any route; this keeps the service's rule whole.
        if principal.role == .metrics { throw .forbidden("metrics tokens may read /metrics only") }
        let allowed: Bool
        let message: String
        switch action {
        case .report: (allowed, message) = (principal.role != .analyst, "analysts may not report incidents")
        case .amend: (allowed, message) = (principal.role != .analyst, "analysts may not amend incidents")
        case .retract: (allowed, message) = (principal.role != .analyst, "analysts may not retract incidents")
        case .decide: (allowed, message) = (principal.role == .reviewer || principal.role == .admin, "only reviewers and admins verify or reject incidents")
        case .erase: (allowed, message) = (principal.role == .admin, "only admins erase personal data")
        case .redact: (allowed, message) = (principal.role == .admin, "only admins redact incidents")
        case .readFigures: (allowed, message) = (principal.role != .reporter, "reporters may not read summaries or digests")
        case .readPersonalData: (allowed, message) = (principal.role == .admin, "only admins read personal data")
        }
        if !allowed { throw .forbidden(message) }
    }

    // MARK: - Commands

    /// Reports an incident (`IncidentReported`, version 1 of its stream).
    ///
    /// Idempotent by event id: the same report sent again returns the original outcome. Without
    /// an `incident_id`, the id is derived from the event id, so a retry maps to the same incident.
    /// - Parameter audit: the audit record of this write (an outbox delivery that carries personal
    ///   data), written in its transaction; such a report is not grouped with others.
    public func report(
        _ body: JSONValue, idempotencyKey: UUID?, by principal: Principal, metadata: EventMetadata, audit: AccessAudit.Entry? = nil
    ) async throws -> WriteOutcome {
        try Self.authorize(.report, principal)
        let (validated, eventID) = try prepareReport(body, idempotencyKey: idempotencyKey)
        guard let audit else { return try await reports.run(ReportLine(validated: validated, eventID: eventID, metadata: metadata)) }
        var entry = audit
        entry.incidentID = validated.record.incidentID
        return try await pool.withConnection { [vault, narrative, entry] connection in
            try connection.transaction { connection in
                try AccessAudit.record(entry, on: connection)
                return try Self.store(validated, eventID: eventID, metadata: metadata, vault: vault, narrative: narrative, on: connection)
            }
        }
    }

    /// Reports many incidents (`POST /v1/incidents:batch`): each line (one JSON report) is parsed,
    /// validated and answered on its own, as `report` would, but the lines are written in
    /// transactions of up to 1,000 (one multi-row statement each in the common case), so a batch
    /// costs a few commits instead of one per line. When a statement fails in a transaction, its
    /// lines are written again one by one, keeping their event ids, so one bad line never costs
    /// the others. A line that is not JSON fails with ``MalformedLine``.
    ///
    /// The chunks are written in order, and each is parsed and validated while the one before it
    /// is being written: the daemon's work and the database's overlap.
    public func reportMany(_ lines: [Data], by principal: Principal, metadata: EventMetadata) async throws -> [Result<WriteOutcome, any Error>] {
        try Self.authorize(.report, principal)
        var results = [Result<WriteOutcome, any Error>?](repeating: nil, count: lines.count)
        var writing: (indexes: [Int], outcomes: Task<[Result<WriteOutcome, any Error>], any Error>)?
        // Waits for the chunk being written and records its answers.
        func written() async throws {
            guard let (indexes, task) = writing else { return }
            writing = nil
            let outcomes = try await task.value
            for case .failure(let error as DatabaseError) in outcomes where error.isConnectionFailure {
                // The database went away: the request fails (a 503) and the client retries the
                // batch; every line is idempotent by its event id.
                throw error
            }
            for (index, outcome) in zip(indexes, outcomes) { results[index] = outcome }
        }
        do {
            for first in stride(from: 0, to: lines.count, by: 1000) {
                try Task.checkCancellation()
                var indexes: [Int] = []
                var ready: [ReportLine] = []
                for index in first..<min(lines.count, first + 1000) {
                    do {
                        guard let body = try? JSONValue.parse(lines[index]) else { throw MalformedLine() }
                        let (validated, eventID) = try prepareReport(body, idempotencyKey: nil)
                        indexes.append(index)
                        ready.append(ReportLine(validated: validated, eventID: eventID, metadata: metadata))
                    } catch {
                        results[index] = .failure(error)
                    }
                }
                try await written()
                guard !ready.isEmpty else { continue }
                // Together when it can, each line on its own when a statement fails, as the group
                // commit does: a line stored after all is answered as a replay, never stored twice.
                writing = (
                    indexes,
                    Task { [pool, vault, narrative, ready] in
                        try await pool.withConnection { connection in
                            try GroupCommit<ReportLine, WriteOutcome>.together(ready, on: connection) { try Self.store($0, vault: vault, narrative: narrative, on: $1) }
                        }
                    }
                )
            }
            try await written()
        } catch {
            // A request that ends early (cancelled) still waits for the chunk being written: its
            // transaction is over before the request answers.
            _ = try? await writing?.outcomes.value
            throw error
        }
        return results.map { $0! }
    }

    /// Validates a report and picks its event id (the idempotency key).
    func prepareReport(_ body: JSONValue, idempotencyKey: UUID?) throws -> (ValidatedReport, UUID) {
        var bodyEventID: UUID?
        var bodyIncidentID: UUID?
        if case .string(let text)? = body.objectValue?["event_id"] { bodyEventID = UUID(uuidString: text) }
        if case .string(let text)? = body.objectValue?["incident_id"] { bodyIncidentID = UUID(uuidString: text) }
        if let idempotencyKey, let bodyEventID, idempotencyKey != bodyEventID {
            throw ServiceError.invalid(ValidationFailure([FieldError("event_id", "differs from the Idempotency-Key header")]))
        }
        // A report that names its incident and no key is idempotent by the incident id itself:
        // the same file sent twice is stored once.
        let eventID = idempotencyKey ?? bodyEventID ?? bodyIncidentID.map(Self.derivedReportEventID) ?? UUID()
        do {
            return (try IncidentRecord.validateReport(body, context: context, defaultIncidentID: Self.derivedIncidentID(eventID)), eventID)
        } catch {
            throw ServiceError.invalid(error)
        }
    }

    /// Seals the personal data and the free text and appends `IncidentReported`, on the caller's connection.
    static func store(
        _ validated: ValidatedReport, eventID: UUID, metadata: EventMetadata, vault: PersonalDataVault, narrative: NarrativeVault,
        on connection: PostgresConnection
    ) throws -> WriteOutcome {
        var record = validated.record
        if let personal = validated.personal {
            do {
                record.personal = try vault.seal(personal, incidentID: record.incidentID, on: connection)
            } catch PersonalDataError.erased {
                // Its personal data was erased since: a retry of the original report is still a replay.
                if let replay = try Self.replay(
                    eventID: eventID, stream: IncidentEvent.streamName(for: record.incidentID), type: .reported, fingerprint: nil, on: connection)
                {
                    return replay
                }
                throw ServiceError.state(.personalDataErased)
            }
        }
        let stream = IncidentEvent.streamName(for: record.incidentID)
        let key = try narrative.currentKey(of: record.incidentID, on: connection)
        let event = try IncidentEvent.reported(record).toAppend(eventID: eventID, metadata: metadata, narrative: key)
        do {
            let result = try EventStore.append([event], to: stream, expectedVersion: 0, on: connection)[0]
            return WriteOutcome(result, incidentID: record.incidentID)
        } catch EventStoreError.versionConflict {
            throw ServiceError.state(.incidentExists(record.incidentID))
        } catch EventStoreError.idempotencyConflict(let id) {
            throw ServiceError.idempotencyConflict(eventID: id)
        }
    }

    /// Amends fields of an incident, with a reason (`IncidentAmended`).
    public func amend(
        _ incidentID: UUID, expectedVersion: Int, changes: JSONValue, reason: String,
        idempotencyKey: UUID?, by principal: Principal, metadata: EventMetadata, audit: AccessAudit.Entry? = nil
    ) async throws -> WriteOutcome {
        try Self.authorize(.amend, principal)
        let reason = try Self.requiredText(reason, field: "reason", maxLength: 1000)
        let context = self.context
        let request: JSONValue = ["expected_version": .number(Double(expectedVersion)), "changes": changes, "reason": .string(reason)]
        return try await write(
            incidentID, expectedVersion: expectedVersion, idempotencyKey: idempotencyKey, type: .amended, request: request, principal: principal,
            metadata: metadata, audit: audit
        ) { [vault] state, connection in
            guard state.status != .retracted else {
                throw ServiceError.state(.retracted(.amend))
            }
            let amendment: ValidatedAmendment
            do {
                amendment = try state.record.amended(with: changes, context: context)
            } catch let failure as ValidationFailure {
                throw ServiceError.invalid(failure)
            }
            var changed = amendment.changes
            switch amendment.personal {
            case .replace(let personal)?:
                do {
                    changed["personal"] = try JSONValue(encoding: try vault.seal(personal, incidentID: incidentID, on: connection))
                } catch PersonalDataError.erased {
                    throw ServiceError.state(.personalDataErased)
                }
            case .remove?:
                changed["personal"] = .null
            case nil:
                break
            }
            return .amended(IncidentAmended(changes: changed, reason: reason))
        }
    }

    public enum Decision: String, Sendable, CaseIterable { case verified, rejected }

    /// Records a reviewer's decision (`IncidentVerified` or `IncidentRejected`); it may be changed later.
    public func decide(
        _ incidentID: UUID, expectedVersion: Int, decision: Decision, note: String,
        idempotencyKey: UUID?, by principal: Principal, metadata: EventMetadata
    ) async throws -> WriteOutcome {
        try Self.authorize(.decide, principal)
        let note = try Self.requiredText(note, field: "note", maxLength: 2000)
        let type: IncidentEvent.EventType = decision == .verified ? .verified : .rejected
        let request: JSONValue = ["expected_version": .number(Double(expectedVersion)), "decision": .string(decision.rawValue), "note": .string(note)]
        return try await write(
            incidentID, expectedVersion: expectedVersion, idempotencyKey: idempotencyKey, type: type, request: request, principal: principal, metadata: metadata
        ) { state, _ in
            guard state.status != .retracted else {
                throw ServiceError.state(.retracted(.decide))
            }
            return decision == .verified ? .verified(ReviewDecision(note: note)) : .rejected(ReviewDecision(note: note))
        }
    }

    /// Retracts an incident (`IncidentRetracted`): it stays in the log and leaves every figure.
    public func retract(
        _ incidentID: UUID, expectedVersion: Int, reason: String, duplicateOf: UUID?,
        idempotencyKey: UUID?, by principal: Principal, metadata: EventMetadata
    ) async throws -> WriteOutcome {
        try Self.authorize(.retract, principal)
        guard let reason = RetractionReason(rawValue: reason) else {
            throw ServiceError.invalid(ValidationFailure([FieldError("reason", "must be one of \(RetractionReason.allCases.map(\.rawValue).joined(separator: ", "))")]))
        }
        if duplicateOf == incidentID {
            throw ServiceError.invalid(ValidationFailure([FieldError("duplicate_of", "an incident cannot duplicate itself")]))
        }
        let request: JSONValue = [
            "expected_version": .number(Double(expectedVersion)), "reason": .string(reason.rawValue),
            "duplicate_of": duplicateOf.map { .string($0.lowercasedText) } ?? .null,
        ]
        return try await write(
            incidentID, expectedVersion: expectedVersion, idempotencyKey: idempotencyKey, type: .retracted, request: request, principal: principal, metadata: metadata
        ) { state, _ in
            guard state.status != .retracted else {
                throw ServiceError.state(.retracted(.retract))
            }
            return .retracted(IncidentRetracted(reason: reason, duplicateOf: duplicateOf))
        }
    }

    /// Erases an incident's personal data: destroys its key and appends `PersonalDataErased`, in
    /// one transaction with its audit record (``AccessAudit``): no erasure without its record.
    /// - Parameter actor: who erases, for the audit record.
    public func erasePersonalData(
        _ incidentID: UUID, reason: String, by principal: Principal, metadata: EventMetadata, audit actor: AccessAudit.Actor
    ) async throws -> WriteOutcome {
        try Self.authorize(.erase, principal)
        let reason = try Self.requiredText(reason, field: "reason", maxLength: 1000)
        return try await pool.withConnection { [vault, narrative, erasures] connection in
            try connection.transaction { connection in
                guard let state = try IncidentState.fold(narrative.events(of: incidentID, on: connection)) else { throw ServiceError.notFound }
                guard !state.personalDataErased else {
                    throw ServiceError.state(.alreadyErased)
                }
                // The audit record before the ledger: when it cannot be written, nothing is erased
                // now or at the next start. Its reason stays sealed in the log (redactable), not here.
                try AccessAudit.record(.init(.personalDataErase, by: actor, incidentID: incidentID), on: connection)
                // The ledger first: a backup restored later must not bring the data back.
                try erasures?.append(.init(incidentID: incidentID, kind: .personalData))
                return try Self.erase(incidentID, state: state, reason: reason, metadata: metadata, vault: vault, narrative: narrative, on: connection)
            }
        }
    }

    /// Destroys the key, then appends `PersonalDataErased`, in the caller's transaction.
    private static func erase(
        _ incidentID: UUID, state: IncidentState, reason: String, metadata: EventMetadata, vault: PersonalDataVault, narrative: NarrativeVault,
        on connection: PostgresConnection
    ) throws -> WriteOutcome {
        try vault.erase(incidentID: incidentID, on: connection)
        let key = try narrative.currentKey(of: incidentID, on: connection)
        let event = try IncidentEvent.personalDataErased(PersonalDataErased(reason: reason)).toAppend(eventID: UUID(), metadata: metadata, narrative: key)
        do {
            return WriteOutcome(
                try EventStore.append([event], to: IncidentEvent.streamName(for: incidentID), expectedVersion: state.version, on: connection)[0], incidentID: incidentID)
        } catch EventStoreError.versionConflict(_, _, let current) {
            throw ServiceError.versionConflict(current: current)
        }
    }

    /// Applies the erasure ledger (at start, before anything is served): every key it lists is
    /// destroyed, and an incident whose log lacks its `PersonalDataErased` (a database restored
    /// from a backup made before the erasure) gets one.
    /// - Returns: how many erasures had to be made again.
    public func applyErasures(from ledger: ErasureLedger) async throws -> Int {
        let metadata = EventMetadata(principal: "erasure-ledger", role: Role.admin.rawValue, client: "incidentd")
        let actor = AccessAudit.Actor(principal: "erasure-ledger", role: "operator")
        var applied = 0
        for entry in try ledger.entries() {
            let made = try await pool.withConnection { [vault, narrative] connection in
                try connection.transaction { connection -> Bool in
                    let events = try narrative.events(of: entry.incidentID, on: connection)
                    let state = try IncidentState.fold(events)
                    let day = entry.at.postgresText.prefix(10)
                    switch entry.kind {
                    case .personalData:
                        guard let state, !state.personalDataErased else {
                            // Not in this database, or erased in it: make sure no key is left all the same.
                            try vault.erase(incidentID: entry.incidentID, on: connection)
                            return false
                        }
                        try AccessAudit.record(.init(.personalDataErase, by: actor, incidentID: entry.incidentID), on: connection)
                        _ = try Self.erase(
                            entry.incidentID, state: state, reason: "erased on \(day); restored from the erasure ledger",
                            metadata: metadata, vault: vault, narrative: narrative, on: connection)
                    case .narrative:
                        let generation = entry.generation ?? 1
                        let redactedSince = events.contains {
                            guard $0.type == IncidentEvent.EventType.narrativeRedacted.rawValue else { return false }
                            return Int($0.data.objectValue?["generation"]?.numberValue ?? 0) > generation
                        }
                        guard let state, !redactedSince else {
                            try narrative.destroy(entry.incidentID, upTo: generation, on: connection)
                            return false
                        }
                        try AccessAudit.record(.init(.narrativeRedact, by: actor, incidentID: entry.incidentID), on: connection)
                        _ = try Self.redact(
                            entry.incidentID, state: state, generation: generation, replacement: [:],
                            reason: "redacted on \(day); restored from the erasure ledger", metadata: metadata, narrative: narrative, on: connection)
                    }
                    return true
                }
            }
            if made { applied += 1 }
        }
        return applied
    }

    /// Redacts an incident's free text (`NarrativeRedacted`): its narrative key is destroyed, so
    /// every text sealed under it in the log is unreadable for good; the replacement texts (and the
    /// reason) are sealed under the key's next generation, and every read shows them, or
    /// `[redacted]` for a field without one.
    /// - Parameters:
    ///   - replacement: new texts for `summary`, `place`, `perpetrator`, `target`.
    ///   - actor: who redacts, for the audit record written in the same transaction.
    public func redactNarrative(
        _ incidentID: UUID, reason: String, replacement: JSONValue, by principal: Principal, metadata: EventMetadata, audit actor: AccessAudit.Actor
    ) async throws -> WriteOutcome {
        try Self.authorize(.redact, principal)
        let reason = try Self.requiredText(reason, field: "reason", maxLength: 1000)
        let texts = try Self.replacementTexts(replacement)
        return try await pool.withConnection { [narrative, erasures] connection in
            try connection.transaction { connection in
                guard let state = try IncidentState.fold(narrative.events(of: incidentID, on: connection)) else { throw ServiceError.notFound }
                let current = try narrative.currentKey(of: incidentID, on: connection)
                try AccessAudit.record(.init(.narrativeRedact, by: actor, incidentID: incidentID), on: connection)
                // The ledger first: a backup restored later must not bring the text back.
                try erasures?.append(.init(incidentID: incidentID, kind: .narrative, generation: current.generation))
                return try Self.redact(
                    incidentID, state: state, generation: current.generation, replacement: texts, reason: reason,
                    metadata: metadata, narrative: narrative, on: connection)
            }
        }
    }

    /// Replaces the narrative key after `generation` and appends `NarrativeRedacted`, in the caller's transaction.
    private static func redact(
        _ incidentID: UUID, state: IncidentState, generation: Int, replacement: [String: String], reason: String,
        metadata: EventMetadata, narrative: NarrativeVault, on connection: PostgresConnection
    ) throws -> WriteOutcome {
        let key = try narrative.replaceKey(of: incidentID, after: generation, on: connection)
        let texts = NarrativeVault.textsAfterRedaction(of: (try JSONValue(encoding: state.record)).objectValue ?? [:], replacement: replacement)
        let event = try IncidentEvent.narrativeRedacted(NarrativeRedacted(generation: key.generation, replacement: texts, reason: reason))
            .toAppend(eventID: UUID(), metadata: metadata, narrative: key)
        do {
            return WriteOutcome(
                try EventStore.append([event], to: IncidentEvent.streamName(for: incidentID), expectedVersion: state.version, on: connection)[0], incidentID: incidentID)
        } catch EventStoreError.versionConflict(_, _, let current) {
            throw ServiceError.versionConflict(current: current)
        }
    }

    /// The replacement texts of a redaction, checked as the record's own fields are.
    static func replacementTexts(_ replacement: JSONValue) throws -> [String: String] {
        guard let object = replacement.objectValue else {
            throw ServiceError.invalid(ValidationFailure([FieldError("replacement", "must be an object with summary, place, perpetrator or target")]))
        }
        var reader = FieldReader(object: [:])
        var texts: [String: String] = [:]
        for (field, value) in object.sorted(by: { $0.key < $1.key }) {
            guard NarrativeVault.recordFields.contains(field) else {
                reader.errors.append(FieldError("replacement." + field, "is not a text field that a redaction replaces"))
                continue
            }
            guard let text = value.stringValue else {
                reader.errors.append(FieldError("replacement." + field, "must be text"))
                continue
            }
            let limit = field == "summary" ? 4000 : 200
            if let checked = reader.checkedText(text, field: "replacement." + field, required: true, maxLength: limit, multiline: field == "summary") {
                texts[field] = checked
            }
        }
        guard reader.errors.isEmpty else { throw ServiceError.invalid(ValidationFailure(reader.errors)) }
        return texts
    }

    /// The shared shape of every write after the report: the incident folded from its stream and
    /// checked for visibility, idempotency by event id (a retry carries the same request
    /// fingerprint; other content under the same id is a conflict), the expected version, then
    /// one event appended.
    private func write(
        _ incidentID: UUID, expectedVersion: Int, idempotencyKey: UUID?, type: IncidentEvent.EventType, request: JSONValue,
        principal: Principal, metadata: EventMetadata, audit: AccessAudit.Entry? = nil,
        _ decide: @escaping @Sendable (IncidentState, PostgresConnection) throws -> IncidentEvent
    ) async throws -> WriteOutcome {
        let eventID = idempotencyKey ?? UUID()
        let stream = IncidentEvent.streamName(for: incidentID)
        @Sendable func write(on connection: PostgresConnection) throws -> WriteOutcome {
            guard let state = try IncidentState.fold(narrative.events(of: incidentID, on: connection)),
                Disclosure.canSee(state, principal)
            else { throw ServiceError.notFound }
            // The fingerprint is keyed by the narrative key: the log learns nothing of the request's text.
            let key = try narrative.currentKey(of: incidentID, on: connection)
            var stamped = metadata
            stamped.requestFingerprint = key.fingerprint(request.encoded())
            if let replay = try Self.replay(eventID: eventID, stream: stream, type: type, fingerprint: stamped.requestFingerprint, on: connection) {
                return replay
            }
            guard expectedVersion == state.version else { throw ServiceError.versionConflict(current: state.version) }
            let event = try decide(state, connection).toAppend(eventID: eventID, metadata: stamped, narrative: key)
            do {
                return WriteOutcome(try EventStore.append([event], to: stream, expectedVersion: expectedVersion, on: connection)[0], incidentID: incidentID)
            } catch EventStoreError.versionConflict(_, _, let current) {
                throw ServiceError.versionConflict(current: current)
            } catch EventStoreError.idempotencyConflict(let id) {
                throw ServiceError.idempotencyConflict(eventID: id)
            }
        }
        return try await pool.withConnection { connection in
            // One statement appends the event; an audited write adds its record in one transaction.
            guard var audit else { return try write(on: connection) }
            audit.incidentID = incidentID
            return try connection.transaction { connection in
                try AccessAudit.record(audit, on: connection)
                return try write(on: connection)
            }
        }
    }

    /// The original outcome when `eventID` is stored for this stream, type and request; nil when it
    /// is not stored; an idempotency conflict when it is stored for something else.
    static func replay(eventID: UUID, stream: String, type: IncidentEvent.EventType, fingerprint: String?, on connection: PostgresConnection) throws -> WriteOutcome? {
        do {
            return try EventStore.replayed(eventID: eventID, stream: stream, type: type.rawValue, fingerprint: fingerprint, on: connection)
                .map { WriteOutcome($0, incidentID: IncidentEvent.incidentID(fromStream: stream) ?? UUID()) }
        } catch EventStoreError.idempotencyConflict {
            throw ServiceError.idempotencyConflict(eventID: eventID)
        }
    }

    // MARK: - Queries

    /// An incident as a caller may see it.
    public struct IncidentView: Sendable {
        public var state: IncidentState
        /// Only when asked for (``PersonalDataRead``): the decrypted personal data, or `null`
        /// when there is none (or it was erased). nil when not asked for.
        public var personal: JSONValue?
        public var events: [RecordedEvent]?
    }

    /// A read of an incident's personal data: who asks and why (docs/operations.md, The access audit).
    public struct PersonalDataRead: Sendable {
        public var actor: AccessAudit.Actor
        /// Checked by ``AccessAudit/accessReason(_:)``.
        public var reason: String

        public init(by actor: AccessAudit.Actor, reason: String) {
            self.actor = actor
            self.reason = reason
        }
    }

    /// The incident folded from its stream (always current), or ``ServiceError/notFound``.
    /// - Parameter personal: given, the personal data is read too (admins only), in one
    ///   transaction with the read's audit record: when that cannot be written, nothing is read
    ///   (``AccessAuditError``).
    public func incident(_ incidentID: UUID, history: Bool, for principal: Principal, personal: PersonalDataRead? = nil) async throws -> IncidentView {
        if personal != nil { try Self.authorize(.readPersonalData, principal) }
        return try await pool.withConnection { [vault, narrative] connection in
            @Sendable func read(on connection: PostgresConnection) throws -> IncidentView {
                let events = try narrative.events(of: incidentID, on: connection)
                guard let state = try IncidentState.fold(events), Disclosure.canSee(state, principal) else { throw ServiceError.notFound }
                var opened: JSONValue?
                if let personal {
                    try AccessAudit.record(.init(.personalDataRead, by: personal.actor, incidentID: incidentID, reason: personal.reason), on: connection)
                    if let sealed = state.record.personal, !state.personalDataErased {
                        opened = try? vault.open(sealed, incidentID: incidentID, on: connection)
                    }
                    opened = opened ?? .null
                }
                return IncidentView(state: state, personal: opened, events: history ? Disclosure.visibleHistory(events, for: principal) : nil)
            }
            return personal == nil ? try read(on: connection) : try connection.transaction(read)
        }
    }

    // MARK: - Helpers

    /// A stable incident id for an event id (SHA-256 based, RFC 4122 variant, version 8).
    public static func derivedIncidentID(_ eventID: UUID) -> UUID {
        derivedUUID("incident:" + eventID.lowercasedText)
    }

    /// The event id of a report that names its incident id and carries no idempotency key.
    public static func derivedReportEventID(_ incidentID: UUID) -> UUID {
        derivedUUID("report:" + incidentID.lowercasedText)
    }

    static func derivedUUID(_ name: String) -> UUID {
        var bytes = Array(SHA256.hash(data: Data(name.utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x80
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        return UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
                bytes[8], bytes[9], bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
    }

    static func requiredText(_ text: String, field: String, maxLength: Int) throws -> String {
        var reader = FieldReader(object: [:])
        guard let value = reader.checkedText(text, field: field, required: true, maxLength: maxLength, multiline: true), reader.errors.isEmpty else {
            throw ServiceError.invalid(ValidationFailure(reader.errors.isEmpty ? [FieldError(field, "is required")] : reader.errors))
        }
        return value
    }
}

extension WriteOutcome {
    init(_ result: AppendResult, incidentID: UUID) {
        self.init(
            incidentID: incidentID, eventID: result.eventID, streamVersion: result.streamVersion,
            globalPosition: result.globalPosition, recordedAt: result.recordedAt, replayed: result.replayed
        )
    }
}
