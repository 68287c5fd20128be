/// A table of the summary's buckets: per day (or ISO week, held as its Monday), region and
/// category, the figures of the incidents that count. The five tables are described here once;
/// the incremental fold, the SQL of new reports and a rebuild's totals are all derived from this.
struct BucketTable: Sendable {
    enum Level: Sendable { case municipality, district }

    let name: String
    let level: Level
    let weekly: Bool
    /// Only the confidential incidents' share, which disclosure control takes away from an analyst's figures.
    let confidentialOnly: Bool

    static let municipalityDays = BucketTable(name: "region_summary", level: .municipality, weekly: false, confidentialOnly: false)
    static let districtDays = BucketTable(name: "region_summary_district", level: .district, weekly: false, confidentialOnly: false)
    static let municipalityWeeks = BucketTable(name: "region_summary_week", level: .municipality, weekly: true, confidentialOnly: false)
    static let districtWeeks = BucketTable(name: "region_summary_district_week", level: .district, weekly: true, confidentialOnly: false)
    static let confidential = BucketTable(name: "region_summary_confidential", level: .municipality, weekly: false, confidentialOnly: true)
    static let all = [municipalityDays, districtDays, municipalityWeeks, districtWeeks, confidential]

    /// The day and week tables of a level, for a summary over a period.
    static func tables(of level: Level) -> (days: BucketTable, weeks: BucketTable) {
        level == .municipality ? (municipalityDays, municipalityWeeks) : (districtDays, districtWeeks)
    }

    /// The region column of the key.
    var regionColumn: String { level == .municipality ? "municipality" : "district" }
    /// The key (the table's primary key), in its order.
    var keyColumns: [String] { [weekly ? "week" : "day", regionColumn, "category"] }
    /// The key and a municipality bucket's district: what a row holds besides its figures.
    var bucketColumns: [String] { level == .municipality ? [keyColumns[0], "municipality", "district", "category"] : keyColumns }
    /// ``bucketColumns`` computed from rows with `day, municipality, district, category` (an
    /// incident's contribution, or a finer bucket table's row).
    var bucketExpressions: [String] { [weekly ? "iso_monday(day)" : "day"] + bucketColumns.dropFirst() }
    /// The SQL type of each of ``bucketColumns``.
    var bucketTypes: [String] { ["date"] + bucketColumns.dropFirst().map { _ in "text" } }

    /// The table a rebuild adds this one up from: the incidents' contributions for the finest
    /// table of each kind, that table for the coarser ones (a seventh or fewer of the rows).
    var finerTable: BucketTable? { confidentialOnly || self.name == Self.municipalityDays.name ? nil : Self.municipalityDays }

    /// The bucket a contribution in `bucket` (a municipality's day) falls in here.
    func bucket(of bucket: SummaryBucket) throws -> SummaryBucket {
        let day = weekly ? try SummaryBucket.monday(of: bucket.day) : bucket.day
        return level == .municipality ? bucket.municipality(day: day) : bucket.district(day: day)
    }

    /// `INSERT INTO table (buckets and figures) SELECT ... FROM source GROUP BY the buckets`, where
    /// `figures` are the six figures' SELECT expressions over `source`.
    func insertAddingUp(into table: String, figures: String, from source: String) -> String {
        "INSERT INTO " + table + " AS s (" + bucketColumns.joined(separator: ", ") + ", " + SummaryFigures.columns + ") SELECT "
            + bucketExpressions.joined(separator: ", ") + ", " + figures + " FROM " + source
            + " GROUP BY " + bucketExpressions.indices.map { String($0 + 1) }.joined(separator: ", ")
    }
}

/// A municipality's (or, with an empty municipality, a district's) day or week and category.
struct SummaryBucket: Hashable {
    var day: String
    var municipality: String
    var district: String
    var category: String

    /// This bucket's municipality and category on `day`.
    func municipality(day: String) -> SummaryBucket { SummaryBucket(day: day, municipality: municipality, district: district, category: category) }
    /// This bucket's district and category on `day`.
    func district(day: String) -> SummaryBucket { SummaryBucket(day: day, municipality: "", district: district, category: category) }

    /// The Monday of a bucket's day (of any year: a stored day may predate what reports may say now).
    static func monday(of day: String) throws -> String {
        guard let week = IsoWeek(containing: day) else { throw EventDecodingError.malformed("a summary bucket's day is not a date: \(day)") }
        return week.from
    }
}
