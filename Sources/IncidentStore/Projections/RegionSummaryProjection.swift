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
    public var tables: [String] { ["region_summary", "region_summary_incidents", "region_summary_district"] + Self.weekTables + ["region_summary_confidential"] }
    /// The buckets: a row per day (or week), region and category, updated by every batch that touches it.
    public var compactable: [String] { ["region_summary", "region_summary_district"] + Self.weekTables + ["region_summary_confidential"] }
    /// The same buckets per ISO week (the day column holding its Monday), so that a summary adds
    /// up a seventh of the rows over whole weeks.
    static let weekTables = ["region_summary_week", "region_summary_district_week"]
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
        /// Confidential now: its share of the buckets is kept apart too (`region_summary_confidential`).
        var confidential: Bool

        var bucket: Bucket { Bucket(day: day, municipality: municipality, district: district, category: category) }
    }

    struct Bucket: Hashable {
        var day: String
        var municipality: String
        var district: String
        var category: String

        /// This bucket's municipality and category on `day`.
        func municipality(day: String) -> Bucket { Bucket(day: day, municipality: municipality, district: district, category: category) }
        /// This bucket's district and category on `day`.
        func district(day: String) -> Bucket { Bucket(day: day, municipality: "", district: district, category: category) }
    }

    /// `deltas` added up by the bucket `into` gives each, without the ones that add up to nothing.
    private func rolledUp(_ deltas: [Bucket: SummaryFigures], into: (Bucket) throws -> Bucket) rethrows -> [Bucket: SummaryFigures] {
        var sums: [Bucket: SummaryFigures] = [:]
        for (bucket, delta) in deltas { sums[try into(bucket), default: SummaryFigures()] += delta }
        return sums.filter { !$0.value.isZero }
    }

    /// The Monday of a bucket's day (of any year: a stored day may predate what reports may say now).
    private static func monday(of day: String) throws -> String {
        guard let week = IsoWeek(containing: day) else { throw EventDecodingError.malformed("a summary bucket's day is not a date: \(day)") }
        return week.from
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
            // would be most of a rebuild's time. Unknown types and schema versions still fail loudly.
            guard let type = IncidentEvent.EventType(rawValue: event.type), type.reads(schemaVersion: event.schemaVersion) else {
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
                                     abducted: Self.count(fields["abducted"]) ?? 0, displaced: Self.count(fields["displaced"]) ?? 0),
                    confidential: fields["sensitivity"]?.stringValue == Sensitivity.confidential.rawValue
                )
            } else if type == .reported {
                throw EventDecodingError.malformed("IncidentReported without occurred_at, municipality or category in \(event.stream)")
            }
        }

        var deltas: [Bucket: SummaryFigures] = [:]
        var confidentialDeltas: [Bucket: SummaryFigures] = [:]
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
        try add(deltas.filter { !$0.value.isZero }, to: tables("region_summary"), key: .municipality, on: connection)
        // The same deltas rolled up to district days, and to municipality and district weeks
        // (`day` holding the Monday).
        try add(rolledUp(deltas) { $0.district(day: $0.day) }, to: tables("region_summary_district"), key: .district, on: connection)
        try add(rolledUp(deltas) { try $0.municipality(day: Self.monday(of: $0.day)) }, to: tables("region_summary_week"), key: .municipalityWeek, on: connection)
        try add(rolledUp(deltas) { try $0.district(day: Self.monday(of: $0.day)) }, to: tables("region_summary_district_week"), key: .districtWeek, on: connection)
        try add(confidentialDeltas.filter { !$0.value.isZero }, to: tables("region_summary_confidential"), key: .municipality, on: connection)
        try save(changed.compactMap { id in after[id].map { (id, $0) } }, to: tables("region_summary_incidents"), on: connection)
    }

    /// A report's contribution, as ``apply(_:to:on:)`` makes it. Into a rebuild's fresh shadows the
    /// contributions alone (the buckets follow in ``finishBulk(to:on:)``); otherwise the new
    /// contributions are added to their buckets in the same statement.
    public func loadReports(_ reports: ReportSelection, to tables: ProjectionTables, on connection: PostgresConnection) throws -> Int {
        let contributions = "INSERT INTO " + tables("region_summary_incidents") + """
             (incident_id, version, day, municipality, district, category, status, killed, injured, abducted, displaced, confidential)
            SELECT substr(e.stream, 10)::uuid, e.stream_version, incident_day(e.data->>'occurred_at'), e.data->>'municipality',
                coalesce(m.district_code, ''), e.data->>'category', 'reported',
                coalesce((e.data->>'killed')::numeric::int, 0), coalesce((e.data->>'injured')::numeric::int, 0),
                coalesce((e.data->>'abducted')::numeric::int, 0), coalesce((e.data->>'displaced')::numeric::int, 0),
                e.data->>'sensitivity' IS NOT DISTINCT FROM 'confidential'
            FROM events e LEFT JOIN municipalities m ON m.code = e.data->>'municipality'
            WHERE
            """ + " " + reports.condition
        if reports.fresh { return try connection.query(contributions, reports.parameters).affectedRows }
        // A reported incident counts: one incident, none verified, its casualties.
        let municipal = "INSERT INTO " + tables("region_summary") + """
             AS s (day, municipality, district, category, incidents, verified, killed, injured, abducted, displaced)
            SELECT day, municipality, district, category, count(*), 0, sum(killed), sum(injured), sum(abducted), sum(displaced)
            FROM new GROUP BY day, municipality, district, category
            ON CONFLICT (day, municipality, category) DO UPDATE SET
            """ + Self.addedFigures
        let district = "INSERT INTO " + tables("region_summary_district") + """
             AS s (day, district, category, incidents, verified, killed, injured, abducted, displaced)
            SELECT day, district, category, count(*), 0, sum(killed), sum(injured), sum(abducted), sum(displaced)
            FROM new GROUP BY day, district, category
            ON CONFLICT (day, district, category) DO UPDATE SET
            """ + Self.addedFigures
        let municipalWeek = "INSERT INTO " + tables("region_summary_week") + """
             AS s (week, municipality, district, category, incidents, verified, killed, injured, abducted, displaced)
            SELECT iso_monday(day), municipality, district, category, count(*), 0, sum(killed), sum(injured), sum(abducted), sum(displaced)
            FROM new GROUP BY 1, 2, 3, 4
            ON CONFLICT (week, municipality, category) DO UPDATE SET
            """ + Self.addedFigures
        let districtWeek = "INSERT INTO " + tables("region_summary_district_week") + """
             AS s (week, district, category, incidents, verified, killed, injured, abducted, displaced)
            SELECT iso_monday(day), district, category, count(*), 0, sum(killed), sum(injured), sum(abducted), sum(displaced)
            FROM new GROUP BY 1, 2, 3
            ON CONFLICT (week, district, category) DO UPDATE SET
            """ + Self.addedFigures
        let confidential = "INSERT INTO " + tables("region_summary_confidential") + """
             AS s (day, municipality, district, category, incidents, verified, killed, injured, abducted, displaced)
            SELECT day, municipality, district, category, count(*), 0, sum(killed), sum(injured), sum(abducted), sum(displaced)
            FROM new WHERE confidential GROUP BY day, municipality, district, category
            ON CONFLICT (day, municipality, category) DO UPDATE SET
            """ + Self.addedFigures
        return try connection.query(
            "WITH new AS (" + contributions + """
             ON CONFLICT (incident_id) DO NOTHING
                RETURNING day, municipality, district, category, killed, injured, abducted, displaced, confidential
            ), municipal AS (
            """ + municipal + "), district AS (" + district + "), municipal_week AS (" + municipalWeek + "), district_week AS (" + districtWeek
                + "), confidential AS (" + confidential + ") SELECT count(*) FROM new",
            reports.parameters
        ).first?.decode(0) ?? 0
    }

    /// A bucket upsert's additions (a new report adds no verified incident).
    private static let addedFigures = """
         incidents = s.incidents + EXCLUDED.incidents, killed = s.killed + EXCLUDED.killed, injured = s.injured + EXCLUDED.injured,
        abducted = s.abducted + EXCLUDED.abducted, displaced = s.displaced + EXCLUDED.displaced
        """

    /// The buckets, added up from every incident's contribution (whatever wrote them before).
    public func finishBulk(to tables: ProjectionTables, on connection: PostgresConnection) throws {
        let (summary, district, incidents) = (tables("region_summary"), tables("region_summary_district"), tables("region_summary_incidents"))
        let (week, districtWeek) = (tables("region_summary_week"), tables("region_summary_district_week"))
        let confidential = tables("region_summary_confidential")
        try connection.execute("TRUNCATE " + [summary, district, week, districtWeek, confidential].joined(separator: ", "))
        try connection.execute("INSERT INTO " + summary + """
             (day, municipality, district, category, incidents, verified, killed, injured, abducted, displaced)
            SELECT day, municipality, district, category, count(*), count(*) FILTER (WHERE status = 'verified'),
                   sum(killed), sum(injured), sum(abducted), sum(displaced)
            FROM
            """ + " " + incidents + " WHERE status IN ('reported', 'verified') GROUP BY day, municipality, district, category")
        try connection.execute("INSERT INTO " + confidential + """
             (day, municipality, district, category, incidents, verified, killed, injured, abducted, displaced)
            SELECT day, municipality, district, category, count(*), count(*) FILTER (WHERE status = 'verified'),
                   sum(killed), sum(injured), sum(abducted), sum(displaced)
            FROM
            """ + " " + incidents + " WHERE confidential AND status IN ('reported', 'verified') GROUP BY day, municipality, district, category")
        try connection.execute("INSERT INTO " + district + """
             (day, district, category, incidents, verified, killed, injured, abducted, displaced)
            SELECT day, district, category, sum(incidents), sum(verified), sum(killed), sum(injured), sum(abducted), sum(displaced)
            FROM
            """ + " " + summary + " GROUP BY day, district, category")
        try connection.execute("INSERT INTO " + week + """
             (week, municipality, district, category, incidents, verified, killed, injured, abducted, displaced)
            SELECT iso_monday(day), municipality, district, category, sum(incidents), sum(verified), sum(killed), sum(injured), sum(abducted), sum(displaced)
            FROM
            """ + " " + summary + " GROUP BY 1, 2, 3, 4")
        try connection.execute("INSERT INTO " + districtWeek + """
             (week, district, category, incidents, verified, killed, injured, abducted, displaced)
            SELECT iso_monday(day), district, category, sum(incidents), sum(verified), sum(killed), sum(injured), sum(abducted), sum(displaced)
            FROM
            """ + " " + district + " GROUP BY 1, 2, 3")
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
        try connection.query("INSERT INTO " + table + """
             (incident_id, version, day, municipality, district, category, status, killed, injured, abducted, displaced, confidential)
            SELECT * FROM unnest($1::uuid[], $2::int[], $3::date[], $4::text[], $5::text[], $6::text[], $7::text[],
                                 $8::int[], $9::int[], $10::int[], $11::int[], $12::boolean[])
            ON CONFLICT (incident_id) DO UPDATE SET
                version = EXCLUDED.version, day = EXCLUDED.day, municipality = EXCLUDED.municipality,
                district = EXCLUDED.district, category = EXCLUDED.category, status = EXCLUDED.status,
                killed = EXCLUDED.killed, injured = EXCLUDED.injured, abducted = EXCLUDED.abducted, displaced = EXCLUDED.displaced,
                confidential = EXCLUDED.confidential
            """, [
                postgresArray(contributions.map(\.0)), postgresArray(c.map(\.version)), postgresArray(c.map(\.day)),
                postgresArray(c.map(\.municipality)), postgresArray(c.map(\.district)), postgresArray(c.map(\.category)),
                postgresArray(c.map(\.status.rawValue)), postgresArray(c.map(\.figures.killed)), postgresArray(c.map(\.figures.injured)),
                postgresArray(c.map(\.figures.abducted)), postgresArray(c.map(\.figures.displaced)), postgresArray(c.map(\.confidential)),
            ])
    }

    /// A bucket table's key: its columns, their SQL types and the bucket's value for each.
    private struct BucketKey: Sendable {
        let columns: [(name: String, type: String, value: @Sendable (Bucket) -> String)]

        static let municipality = BucketKey(columns: [("day", "date", { $0.day }), ("municipality", "text", { $0.municipality }), ("category", "text", { $0.category })])
        static let district = BucketKey(columns: [("day", "date", { $0.day }), ("district", "text", { $0.district }), ("category", "text", { $0.category })])
        /// A week's bucket holds the week's Monday as its day.
        static let municipalityWeek = BucketKey(columns: [("week", "date", { $0.day }), ("municipality", "text", { $0.municipality }), ("category", "text", { $0.category })])
        static let districtWeek = BucketKey(columns: [("week", "date", { $0.day }), ("district", "text", { $0.district }), ("category", "text", { $0.category })])
    }

    /// Adds `deltas` to the buckets of `table` (a bucket keyed by `key`; a municipality bucket
    /// also carries its district), then deletes the buckets whose last incident left.
    private func add(_ deltas: [Bucket: SummaryFigures], to table: String, key: BucketKey, on connection: PostgresConnection) throws {
        guard !deltas.isEmpty else { return }
        let buckets = Array(deltas.keys)
        let figures = buckets.map { deltas[$0]! }
        var columns = key.columns.map { (name: $0.name, type: $0.type, values: postgresArray(buckets.map($0.value))) }
        if key.columns.contains(where: { $0.name == "municipality" }) {
            columns.append(("district", "text", postgresArray(buckets.map(\.district))))
        }
        let sums: [(String, String, (SummaryFigures) -> Int)] = [
            ("incidents", "int", \.incidents), ("verified", "int", \.verified), ("killed", "bigint", \.killed),
            ("injured", "bigint", \.injured), ("abducted", "bigint", \.abducted), ("displaced", "bigint", \.displaced),
        ]
        let names = columns.map(\.name) + sums.map(\.0)
        let types = columns.map(\.type) + sums.map(\.1)
        let keyNames = key.columns.map(\.name)
        try connection.query(
            "INSERT INTO " + table + " AS s (" + names.joined(separator: ", ") + ") SELECT * FROM unnest("
                + types.enumerated().map { "$\($0.offset + 1)::\($0.element)[]" }.joined(separator: ", ") + ") ON CONFLICT ("
                + keyNames.joined(separator: ", ") + ") DO UPDATE SET "
                + sums.map { "\($0.0) = s.\($0.0) + EXCLUDED.\($0.0)" }.joined(separator: ", "),
            columns.map(\.values) + sums.map { sum in postgresArray(figures.map(sum.2)) }
        )
        // A bucket whose last incident left it holds nothing: keep the table to what counts.
        try connection.query(
            "DELETE FROM " + table + " s USING unnest(" + key.columns.enumerated().map { "$\($0.offset + 1)::\($0.element.type)[]" }.joined(separator: ", ")
                + ") AS k(" + keyNames.joined(separator: ", ") + ") WHERE "
                + keyNames.map { "s.\($0) = k.\($0)" }.joined(separator: " AND ") + " AND s.incidents = 0",
            Array(columns.prefix(key.columns.count).map(\.values))
        )
    }
}
