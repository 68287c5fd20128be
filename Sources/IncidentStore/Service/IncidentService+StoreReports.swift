import Foundation
import PostgresLibpq

/// A validated report on its way to the log, with its event id (the idempotency key) and the
/// metadata of the request that sent it.
struct ReportLine: Sendable {
    var validated: ValidatedReport
    var eventID: UUID
    var metadata: EventMetadata
}

extension IncidentService {
    /// Stores reports, each answered on its own, in as few statements as the common case allows.
    ///
    /// The common case — a new incident, its free text and personal data under new keys of its own —
    /// is one statement for the whole group (``EventStore/open(_:on:)``). Every other line — a
    /// retry, an incident reported twice, an erased one, the second line of one incident in the same
    /// group — then goes the careful way of ``store(_:eventID:metadata:vault:on:)``, which answers
    /// replays and conflicts.
    /// - Throws: only when the group statement fails (the caller rolls the group back).
    static func store(
        _ lines: [ReportLine], vault: PersonalDataVault, narrative: NarrativeVault, on connection: PostgresConnection
    ) throws -> [Result<WriteOutcome, any Error>] {
        var streams: [EventStore.NewStream] = []
        var fast: [UUID: (line: Int, incidentID: UUID)] = [:]
        var incidents = Set<UUID>()
        for (index, line) in lines.enumerated() {
            var record = line.validated.record
            guard incidents.insert(record.incidentID).inserted, fast[line.eventID] == nil else { continue }
            // Both keys under one master key, which the row names (a rotation may switch it meanwhile).
            let master = vault.keys.ring.current
            var personalKey: Data?
            if let personal = line.validated.personal {
                let (sealed, wrapped) = try vault.sealWithNewKey(personal, incidentID: record.incidentID, under: master)
                record.personal = sealed
                personalKey = wrapped.bytes
            }
            let (key, narrativeKey) = try narrative.freshKey(of: record.incidentID, under: master)
            let event = try IncidentEvent.reported(record).toAppend(eventID: line.eventID, metadata: line.metadata, narrative: key)
            streams.append(
                EventStore.NewStream(
                    event: event, stream: IncidentEvent.streamName(for: record.incidentID), incidentID: record.incidentID,
                    masterKeyID: narrativeKey.masterKeyID, narrativeKey: narrativeKey.bytes, personalKey: personalKey
                ))
            fast[line.eventID] = (index, record.incidentID)
        }
        var answers = [Result<WriteOutcome, any Error>?](repeating: nil, count: lines.count)
        for result in try EventStore.open(streams, on: connection) {
            guard let (index, incidentID) = fast[result.eventID] else { continue }
            answers[index] = .success(WriteOutcome(result, incidentID: incidentID))
        }
        for (index, line) in lines.enumerated() where answers[index] == nil {
            answers[index] = Result {
                try store(line.validated, eventID: line.eventID, metadata: line.metadata, vault: vault, narrative: narrative, on: connection)
            }
        }
        return answers.map { $0! }
    }
}
