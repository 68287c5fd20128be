import Foundation
import PostgresLibpq

/// The `region_summary` read model: per Kosovo day × municipality × category, the incidents that
/// count (reported or verified; rejected and retracted ones drop out) and their casualties.
///
/// It keeps what each incident contributes (`region_summary_incidents`), so an amendment that
/// changes the day, municipality, category or casualties moves the incident between buckets, and
/// a decision moves it in or out of the figures. A batch turns into one delta per touched bucket.
public struct RegionSummaryProjection: Projection {
    public static let name = "region_summary"
    public var name: String { Self.name }
    /// In the order a swap renames them: a statement reading two of them names them in this order
    /// too (it locks them in the order it names them), or it can deadlock with a swap.
    public var tables: [String] { [BucketTable.municipalityDays.name, "region_summary_incidents"] + BucketTable.all.dropFirst().map(\.name) }
    /// The buckets: a row per day (or week), region and category, updated by every batch that touches it.
    public var compactable: [String] { BucketTable.all.map(\.name) }
    public let regions: RegionDirectory

    public init(regions: RegionDirectory) { self.regions = regions }

    /// What one incident contributes to the summary.
    struct Contribution: Equatable {
        var version: Int
        var day: String
        var municipality: String
        var district: String
        var category: String
        var status: IncidentStatus
        var figures: SummaryFigures
        /// Confidential now: its share of the buckets is kept apart too (``BucketTable/confidential``).
        var confidential: Bool

        var bucket: SummaryBucket { SummaryBucket(day: day, municipality: municipality, district: district, category: category) }
    }

    /// `deltas` added up by the bucket `into` gives each, without the ones that add up to nothing.
    private func rolledUp(_ deltas: [SummaryBucket: SummaryFigures], into: (SummaryBucket) throws -> SummaryBucket) rethrows -> [SummaryBucket: SummaryFigures] {
        var sums: [SummaryBucket: SummaryFigures] = [:]
        for (bucket, delta) in deltas { sums[try into(bucket), default: SummaryFigures()] += delta }
        return sums.filter { !$0.value.isZero }
    }

    /// What later events change: an incident's contribution moves between buckets, or in or out
    /// of the figures; a batch turns into one delta per touched bucket of each table.
    public func fold(_ events: [RecordedEvent], to tables: ProjectionTables, on connection: PostgresConnection) throws {
        var ids: [UUID] = []
        var seen = Set<UUID>()
        for event in events {
            guard let id = IncidentEvent.incidentID(fromStream: event.stream), seen.insert(id).inserted else { continue }
            ids.append(id)
        }
        guard !ids.isEmpty else { return }
        let before = try load(ids, from: tables("region_summary_incidents"), on: connection)
        var after = before
        for event in events {
            guard let id = IncidentEvent.incidentID(fromStream: event.stream) else { continue }
            // The summary reads its few fields straight from the stored JSON: decoding whole records
            // would be most of a rebuild's time. Unknown types and schema versions still fail loudly.
            guard let type = IncidentEvent.EventType(rawValue: event.type), type.reads(schemaVersion: event.schemaVersion) else {
                _ = try event.incidentEvent()
                continue
            }
            // An incident the summary has no contribution of (its stream not opened by a report) stays out.
            guard var current = after[id], event.streamVersion > current.version else { continue }
            apply(type, event.data, version: event.streamVersion, to: &current)
            after[id] = current
        }

        var deltas: [SummaryBucket: SummaryFigures] = [:]
        var confidentialDeltas: [SummaryBucket: SummaryFigures] = [:]
        var changed: [UUID] = []
        for id in ids where before[id] != after[id] {
            changed.append(id)
            if let old = before[id], old.status.counts {
                deltas[old.bucket, default: SummaryFigures()] += -counted(old)
                if old.confidential { confidentialDeltas[old.bucket, default: SummaryFigures()] += -counted(old) }
            }
            if let new = after[id], new.status.counts {
                deltas[new.bucket, default: SummaryFigures()] += counted(new)
                if new.confidential { confidentialDeltas[new.bucket, default: SummaryFigures()] += counted(new) }
            }
        }
        for table in BucketTable.all {
            try add(rolledUp(table.confidentialOnly ? confidentialDeltas : deltas, into: table.bucket(of:)), to: table, named: tables(table.name), on: connection)
        }
        try save(changed.compactMap { id in after[id].map { (id, $0) } }, to: tables("region_summary_incidents"), on: connection)
    }

    /// What a report contributes (the only place that says it). Into a rebuild's fresh shadows the
    /// contributions alone (the buckets follow in ``finishBulk(to:on:)``); otherwise the new
    /// contributions are added to their buckets in the same statement.
    public func loadReports(_ reports: OpeningReports, to tables: ProjectionTables, on connection: PostgresConnection) throws -> Int {
        let contributions =
            "INSERT INTO " + tables("region_summary_incidents") + """
                 (incident_id, version, day, municipality, district, category, status, killed, injured, abducted, displaced, confidential)
                SELECT \(IncidentEvent.incidentIDText(fromStreamColumn: "e.stream"))::uuid, e.stream_version, incident_day(e.data->>'occurred_at'),
                    e.data->>'municipality', coalesce(m.district_code, ''), e.data->>'category', 'reported',
                    coalesce((e.data->>'killed')::numeric::int, 0), coalesce((e.data->>'injured')::numeric::int, 0),
                    coalesce((e.data->>'abducted')::numeric::int, 0), coalesce((e.data->>'displaced')::numeric::int, 0),
                    e.data->>'sensitivity' IS NOT DISTINCT FROM 'confidential'
                FROM
                """ + " " + reports.relation + " LEFT JOIN municipalities m ON m.code = e.data->>'municipality'"
        if reports.fresh { return try connection.query(contributions, reports.parameters).affectedRows }
        // A reported incident counts: one incident, none verified, its casualties.
        let additions = BucketTable.all.enumerated().map { index, table in
            "added\(index) AS ("
                + table.insertAddingUp(
                    into: tables(table.name), figures: "count(*), 0, sum(killed), sum(injured), sum(abducted), sum(displaced)",
                    from: table.confidentialOnly ? "new WHERE confidential" : "new"
                ) + " ON CONFLICT (" + table.keyColumns.joined(separator: ", ") + ") DO UPDATE SET " + Self.addedFigures + ")"
        }
        return try connection.query(
            "WITH new AS (" + contributions + """
                 ON CONFLICT (incident_id) DO NOTHING
                    RETURNING day, municipality, district, category, killed, injured, abducted, displaced, confidential
                ),
                """ + " " + additions.joined(separator: ", ") + " SELECT count(*) FROM new",
            reports.parameters
        ).first?.decode(0) ?? 0
    }

    /// A bucket upsert's additions (a new report adds no verified incident).
    private static let addedFigures = """
         incidents = s.incidents + EXCLUDED.incidents, killed = s.killed + EXCLUDED.killed, injured = s.injured + EXCLUDED.injured,
        abducted = s.abducted + EXCLUDED.abducted, displaced = s.displaced + EXCLUDED.displaced
        """

    /// The buckets, added up from every incident's contribution (whatever wrote them before):
    /// the finest tables from the contributions, the others from the finest.
    public func finishBulk(to tables: ProjectionTables, on connection: PostgresConnection) throws {
        try connection.execute("TRUNCATE " + BucketTable.all.map { tables($0.name) }.joined(separator: ", "))
        let counting = "status IN (" + IncidentStatus.allCases.filter(\.counts).map { "'\($0.rawValue)'" }.joined(separator: ", ") + ")"
        for table in BucketTable.all {
            if let finer = table.finerTable {
                try connection.execute(table.insertAddingUp(into: tables(table.name), figures: SummaryFigures.sums, from: tables(finer.name)))
            } else {
                try connection.execute(
                    table.insertAddingUp(
                        into: tables(table.name),
                        figures: "count(*), count(*) FILTER (WHERE status = 'verified'), sum(killed), sum(injured), sum(abducted), sum(displaced)",
                        from: tables("region_summary_incidents") + " WHERE " + (table.confidentialOnly ? "confidential AND " : "") + counting
                    ))
            }
        }
    }

    /// What a counted incident adds to its bucket.
    private func counted(_ contribution: Contribution) -> SummaryFigures {
        var figures = contribution.figures
        figures.incidents = 1
        figures.verified = contribution.status == .verified ? 1 : 0
        return figures
    }

    private func district(of municipality: String) -> String {
        regions.municipality(code: municipality)?.districtCode ?? ""
    }

    /// A count field: a whole number, 0 for null, nil when absent.
    private static func count(_ value: JSONValue?) -> Int? {
        switch value {
        case .number(let number)?: Int(exactly: number)
        case .null?: 0
        default: nil
        }
    }

    /// The fields of an amendment that move figures; the others do not concern the summary.
    private func apply(_ type: IncidentEvent.EventType, _ data: JSONValue, version: Int, to contribution: inout Contribution) {
        switch type {
        case .reported, .personalDataErased, .narrativeRedacted: break
        case .amended:
            let changes = data.objectValue?["changes"]?.objectValue ?? [:]
            if let occurredAt = changes["occurred_at"]?.stringValue { contribution.day = IncidentTime.day(ofOccurredAt: occurredAt) }
            if let municipality = changes["municipality"]?.stringValue {
                contribution.municipality = municipality
                contribution.district = district(of: municipality)
            }
            if let category = changes["category"]?.stringValue { contribution.category = category }
            if let killed = Self.count(changes["killed"]) { contribution.figures.killed = killed }
            if let injured = Self.count(changes["injured"]) { contribution.figures.injured = injured }
            if let abducted = Self.count(changes["abducted"]) { contribution.figures.abducted = abducted }
            if let displaced = Self.count(changes["displaced"]) { contribution.figures.displaced = displaced }
            if let sensitivity = changes["sensitivity"]?.stringValue { contribution.confidential = sensitivity == Sensitivity.confidential.rawValue }
        case .verified: contribution.status = .verified
        case .rejected: contribution.status = .rejected
        case .retracted: contribution.status = .retracted
        }
        contribution.version = version
    }

    // MARK: - Storage

    private func load(_ ids: [UUID], from table: String, on connection: PostgresConnection) throws -> [UUID: Contribution] {
        let rows = try connection.query(
            "SELECT incident_id, version, day::text AS day, municipality, district, category, status, killed, injured, abducted, displaced, confidential FROM "
                + table + " WHERE incident_id = ANY($1::uuid[])", [postgresArray(ids)]
        ).rows
        var contributions: [UUID: Contribution] = [:]
        for row in rows {
            contributions[try row.decode(0)] = Contribution(
                version: try row.decode(1), day: try row.decode(2), municipality: try row.decode(3), district: try row.decode(4),
                category: try row.decode(5), status: IncidentStatus(rawValue: try row.decode(6)) ?? .reported,
                figures: SummaryFigures(killed: try row.decode(7), injured: try row.decode(8), abducted: try row.decode(9), displaced: try row.decode(10)),
                confidential: try row.decode(11)
            )
        }
        return contributions
    }

    private func save(_ contributions: [(UUID, Contribution)], to table: String, on connection: PostgresConnection) throws {
        guard !contributions.isEmpty else { return }
        let c = contributions.map(\.1)
        try connection.query(
            "INSERT INTO " + table + """
                 (incident_id, version, day, municipality, district, category, status, killed, injured, abducted, displaced, confidential)
                SELECT * FROM unnest($1::uuid[], $2::int[], $3::date[], $4::text[], $5::text[], $6::text[], $7::text[],
                                     $8::int[], $9::int[], $10::int[], $11::int[], $12::boolean[])
                ON CONFLICT (incident_id) DO UPDATE SET
                    version = EXCLUDED.version, day = EXCLUDED.day, municipality = EXCLUDED.municipality,
                    district = EXCLUDED.district, category = EXCLUDED.category, status = EXCLUDED.status,
                    killed = EXCLUDED.killed, injured = EXCLUDED.injured, abducted = EXCLUDED.abducted, displaced = EXCLUDED.displaced,
                    confidential = EXCLUDED.confidential
                """,
            [
                postgresArray(contributions.map(\.0)), postgresArray(c.map(\.version)), postgresArray(c.map(\.day)),
                postgresArray(c.map(\.municipality)), postgresArray(c.map(\.district)), postgresArray(c.map(\.category)),
                postgresArray(c.map(\.status.rawValue)), postgresArray(c.map(\.figures.killed)), postgresArray(c.map(\.figures.injured)),
                postgresArray(c.map(\.figures.abducted)), postgresArray(c.map(\.figures.displaced)), postgresArray(c.map(\.confidential)),
            ])
    }

    /// Adds `deltas` to the buckets of `table` (stored as `name`), then deletes the buckets whose
    /// last incident left.
    private func add(_ deltas: [SummaryBucket: SummaryFigures], to table: BucketTable, named name: String, on connection: PostgresConnection) throws {
        guard !deltas.isEmpty else { return }
        let buckets = Array(deltas.keys)
        let figures = buckets.map { deltas[$0]! }
        let values: [String: (SummaryBucket) -> String] = [
            "day": \.day, "week": \.day, "municipality": \.municipality, "district": \.district, "category": \.category,
        ]
        let columns = table.bucketColumns.map { postgresArray(buckets.map(values[$0]!)) }
        let sums: [(String, String, (SummaryFigures) -> Int)] = [
            ("incidents", "int", \.incidents), ("verified", "int", \.verified), ("killed", "bigint", \.killed),
            ("injured", "bigint", \.injured), ("abducted", "bigint", \.abducted), ("displaced", "bigint", \.displaced),
        ]
        let types = table.bucketTypes + sums.map(\.1)
        let keyNames = table.keyColumns
        try connection.query(
            "INSERT INTO " + name + " AS s (" + (table.bucketColumns + sums.map(\.0)).joined(separator: ", ") + ") SELECT * FROM unnest("
                + types.enumerated().map { "$\($0.offset + 1)::\($0.element)[]" }.joined(separator: ", ") + ") ON CONFLICT ("
                + keyNames.joined(separator: ", ") + ") DO UPDATE SET "
                + sums.map { "\($0.0) = s.\($0.0) + EXCLUDED.\($0.0)" }.joined(separator: ", "),
            columns + sums.map { sum in postgresArray(figures.map(sum.2)) }
        )
        // A bucket whose last incident left it holds nothing: keep the table to what counts.
        let keyIndexes = keyNames.map { table.bucketColumns.firstIndex(of: $0)! }
        try connection.query(
            "DELETE FROM " + name + " s USING unnest(" + keyIndexes.enumerated().map { "$\($0.offset + 1)::\(table.bucketTypes[$0.element])[]" }.joined(separator: ", ")
                + ") AS k(" + keyNames.joined(separator: ", ") + ") WHERE "
                + keyNames.map { "s.\($0) = k.\($0)" }.joined(separator: " AND ") + " AND s.incidents = 0",
            keyIndexes.map { columns[$0] }
        )
    }
}
