import Foundation

/// The `region_summary` read model: per Kosovo day × municipality × category, the incidents that
/// count (reported or verified; rejected and retracted ones drop out) and their casualties.
///
/// It keeps what each incident contributes (`region_summary_incidents`), so an amendment that
/// changes the day, municipality, category or casualties moves the incident between buckets, and
/// a decision moves it in or out of the figures. A batch turns into one delta per touched bucket.
public struct RegionSummaryProjection: Projection {
    public static let name = "region_summary"
    public var name: String { Self.name }
    public var tables: [String] { ["region_summary", "region_summary_incidents"] }
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

        var bucket: Bucket { Bucket(day: day, municipality: municipality, district: district, category: category) }
    }

    struct Bucket: Hashable {
        var day: String
        var municipality: String
        var district: String
        var category: String
    }

    public func apply(_ events: [RecordedEvent], to tables: ProjectionTables, on connection: PostgresConnection) throws {
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
            // was most of a rebuild's time. Unknown types and schema versions still fail loudly.
            guard event.schemaVersion == 1, let type = IncidentEvent.EventType(rawValue: event.type) else {
                _ = try event.incidentEvent()
                continue
            }
            if var current = after[id] {
                guard event.streamVersion > current.version else { continue }
                apply(type, event.data, version: event.streamVersion, to: &current)
                after[id] = current
            } else if type == .reported, let fields = event.data.objectValue,
                      let occurredAt = fields["occurred_at"]?.stringValue, let municipality = fields["municipality"]?.stringValue,
                      let category = fields["category"]?.stringValue {
                after[id] = Contribution(
                    version: event.streamVersion, day: IncidentTime.day(ofOccurredAt: occurredAt), municipality: municipality,
                    district: district(of: municipality), category: category, status: .reported,
                    figures: SummaryFigures(killed: Self.count(fields["killed"]) ?? 0, injured: Self.count(fields["injured"]) ?? 0,
                                     abducted: Self.count(fields["abducted"]) ?? 0, displaced: Self.count(fields["displaced"]) ?? 0)
                )
            } else if type == .reported {
                throw EventDecodingError.unknownType("IncidentReported without occurred_at, municipality or category in \(event.stream)")
            }
        }

        var deltas: [Bucket: SummaryFigures] = [:]
        var changed: [UUID] = []
        for id in ids where before[id] != after[id] {
            changed.append(id)
            if let old = before[id], old.status.counts { deltas[old.bucket, default: SummaryFigures()] += -counted(old) }
            if let new = after[id], new.status.counts { deltas[new.bucket, default: SummaryFigures()] += counted(new) }
        }
        try add(deltas.filter { !$0.value.isZero }, to: tables("region_summary"), on: connection)
        try save(changed.compactMap { id in after[id].map { (id, $0) } }, to: tables("region_summary_incidents"), on: connection)
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
        case .reported, .personalDataErased: break
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
        case .verified: contribution.status = .verified
        case .rejected: contribution.status = .rejected
        case .retracted: contribution.status = .retracted
        }
        contribution.version = version
    }

    // MARK: - Storage

    private func load(_ ids: [UUID], from table: String, on connection: PostgresConnection) throws -> [UUID: Contribution] {
        let rows = try connection.query(
            "SELECT incident_id, version, day::text AS day, municipality, district, category, status, killed, injured, abducted, displaced FROM "
                + table + " WHERE incident_id = ANY($1::uuid[])", [postgresArray(ids)]
        ).rows
        var contributions: [UUID: Contribution] = [:]
        for row in rows {
            contributions[try row.decode(0)] = Contribution(
                version: try row.decode(1), day: try row.decode(2), municipality: try row.decode(3), district: try row.decode(4),
                category: try row.decode(5), status: IncidentStatus(rawValue: try row.decode(6)) ?? .reported,
                figures: SummaryFigures(killed: try row.decode(7), injured: try row.decode(8), abducted: try row.decode(9), displaced: try row.decode(10))
            )
        }
        return contributions
    }

    private func save(_ contributions: [(UUID, Contribution)], to table: String, on connection: PostgresConnection) throws {
        guard !contributions.isEmpty else { return }
        let c = contributions.map(\.1)
        try connection.query("INSERT INTO " + table + """
             (incident_id, version, day, municipality, district, category, status, killed, injured, abducted, displaced)
            SELECT * FROM unnest($1::uuid[], $2::int[], $3::date[], $4::text[], $5::text[], $6::text[], $7::text[],
                                 $8::int[], $9::int[], $10::int[], $11::int[])
            ON CONFLICT (incident_id) DO UPDATE SET
                version = EXCLUDED.version, day = EXCLUDED.day, municipality = EXCLUDED.municipality,
                district = EXCLUDED.district, category = EXCLUDED.category, status = EXCLUDED.status,
                killed = EXCLUDED.killed, injured = EXCLUDED.injured, abducted = EXCLUDED.abducted, displaced = EXCLUDED.displaced
            """, [
                postgresArray(contributions.map(\.0)), postgresArray(c.map(\.version)), postgresArray(c.map(\.day)),
                postgresArray(c.map(\.municipality)), postgresArray(c.map(\.district)), postgresArray(c.map(\.category)),
                postgresArray(c.map(\.status.rawValue)), postgresArray(c.map(\.figures.killed)), postgresArray(c.map(\.figures.injured)),
                postgresArray(c.map(\.figures.abducted)), postgresArray(c.map(\.figures.displaced)),
            ])
    }

    private func add(_ deltas: [Bucket: SummaryFigures], to table: String, on connection: PostgresConnection) throws {
        guard !deltas.isEmpty else { return }
        let keys = Array(deltas.keys)
        let d = keys.map { deltas[$0]! }
        let days = postgresArray(keys.map(\.day)), municipalities = postgresArray(keys.map(\.municipality)), categories = postgresArray(keys.map(\.category))
        try connection.query("INSERT INTO " + table + """
             AS s (day, municipality, district, category, incidents, verified, killed, injured, abducted, displaced)
            SELECT * FROM unnest($1::date[], $2::text[], $3::text[], $4::text[], $5::int[], $6::int[],
                                 $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[])
            ON CONFLICT (day, municipality, category) DO UPDATE SET
                incidents = s.incidents + EXCLUDED.incidents, verified = s.verified + EXCLUDED.verified,
                killed = s.killed + EXCLUDED.killed, injured = s.injured + EXCLUDED.injured,
                abducted = s.abducted + EXCLUDED.abducted, displaced = s.displaced + EXCLUDED.displaced
            """, [
                days, municipalities, postgresArray(keys.map(\.district)), categories,
                postgresArray(d.map(\.incidents)), postgresArray(d.map(\.verified)), postgresArray(d.map(\.killed)),
                postgresArray(d.map(\.injured)), postgresArray(d.map(\.abducted)), postgresArray(d.map(\.displaced)),
            ])
        // A bucket whose last incident left it holds nothing: keep the table to what counts.
        try connection.query("DELETE FROM " + table + """
             s USING unnest($1::date[], $2::text[], $3::text[]) AS k(day, municipality, category)
            WHERE s.day = k.day AND s.municipality = k.municipality AND s.category = k.category AND s.incidents = 0
            """, [days, municipalities, categories])
    }
}
