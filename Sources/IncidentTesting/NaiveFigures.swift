import Foundation
import IncidentStore
import PostgresLibpq

/// The test's oracle: figures recomputed from the log alone, by folding every incident stream,
/// with none of the projections' code.
public struct NaiveFigures: Sendable {
    /// The current state of every incident.
    public let states: [UUID: IncidentState]
    public let regions: RegionDirectory

    public static func compute(_ pool: ConnectionPool, regions: RegionDirectory) async throws -> NaiveFigures {
        let states = try await pool.withConnection { connection -> [UUID: IncidentState] in
            let streams = try LogReads.streams(named: IncidentEvent.streamPrefix, on: connection)
            var states: [UUID: IncidentState] = [:]
            for stream in streams {
                if let state = try IncidentState.fold(try NarrativeVault(keys: TestKeys.ring).open(EventStore.readStream(stream, on: connection), on: connection)) {
                    states[state.record.incidentID] = state
                }
            }
            return states
        }
        return NaiveFigures(states: states, regions: regions)
    }

    /// Figures per day × municipality (or district) × category, of incidents that count.
    public func buckets(level: SummaryLevel) -> [DayBucket: SummaryFigures] {
        var buckets: [DayBucket: SummaryFigures] = [:]
        for state in states.values where state.status == .reported || state.status == .verified {
            let r = state.record
            let region = level == .municipality ? r.municipality : regions.municipality(code: r.municipality)!.districtCode
            buckets[DayBucket(day: r.occurredDay, region: region, category: r.category), default: SummaryFigures()] += SummaryFigures(
                incidents: 1, verified: state.status == .verified ? 1 : 0,
                killed: r.killed, injured: r.injured, abducted: r.abducted, displaced: r.displaced
            )
        }
        return buckets
    }

    /// The sum of the buckets whose day lies in `from...to`.
    public func total(from: String, to: String) -> SummaryFigures {
        buckets(level: .municipality).filter { $0.key.day >= from && $0.key.day <= to }.values.reduce(into: SummaryFigures()) { $0 += $1 }
    }
}
