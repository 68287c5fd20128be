import Foundation
import PostgresLibpq

/// Reports that open incident streams, as a relation `e` of the log for a projection to write
/// from in SQL (``Projection/loadReports(_:to:on:)``): what a report makes of a row is said once,
/// there, and the log's table is named only here.
public struct OpeningReports {
    /// A subquery of the log aliased `e`, with `$1`... for `parameters` (PostgreSQL plans it as
    /// if the condition were the outer query's own).
    let relation: String
    let parameters: [(any PostgresEncodable)?]
    /// The target tables are a rebuild's fresh shadows, which hold none of the incidents: the rows
    /// are inserted as they are, and the summary's buckets are added up after the bulk.
    let fresh: Bool

    private init(condition: String, parameters: [(any PostgresEncodable)?], fresh: Bool) {
        self.relation = "(SELECT * FROM events e WHERE " + condition + ") AS e"
        self.parameters = parameters
        self.fresh = fresh
    }

    /// The rebuild's bulk: the reports opening incident streams below `boundary`, among the events
    /// at `positions` (the fold applies what came after them). Asking here whether an incident has
    /// a second event would take a sort and a scan of the whole stream index per range.
    static func below(_ boundary: UInt64, positions: ClosedRange<Int64>) -> OpeningReports {
        OpeningReports(
            condition: "e.global_position BETWEEN $2 AND $3 AND e.transaction_id < $1::xid8 AND " + predicate,
            parameters: [boundary, positions.lowerBound, positions.upperBound], fresh: true
        )
    }

    /// The events at `positions`, every one a report opening its stream (``RecordedEvent/opensIncident``).
    /// An incident already in the tables is left alone (its version is at or above the report's).
    static func at(_ positions: [Int64]) -> OpeningReports {
        OpeningReports(condition: "e.global_position = ANY($1::bigint[])", parameters: [postgresArray(positions)], fresh: false)
    }

    /// ``EventHeading/opensIncident`` in SQL, on an event `e`: an `IncidentReported` of a schema
    /// this build reads (1 plain, 2 sealed) opening an incident stream. (An incident stream is
    /// `incident-` and a UUID; a regular expression to say so costs more than the rest of a scan.)
    static let predicate = """
        e.stream_version = 1 AND e.type = 'IncidentReported' AND e.schema_version IN (1, 2)
          AND e.stream LIKE '\(IncidentEvent.streamPrefix)%' AND length(e.stream) = \(IncidentEvent.streamPrefix.count + 36)
        """
}
