import Foundation
import IncidentTesting
import PostgresLibpq
import Testing

@testable import IncidentStore

/// The statement of `GET /v1/incidents?q=` on a table large enough for the planner to choose:
/// it reads the trigram index (and, for callers who may list confidential incidents, the partial
/// index of sealed rows), never the whole table.
@Suite("Incident search plans: the trigram index, not a scan of every row")
struct IncidentSearchPlanTests {
    static let rows = 30_000

    /// Rows straight into the read model (its own test database): every 50th sealed, as a
    /// confidential incident's row is; the word "Dushkajë" in three of them, as the perpetrator.
    static func fill(_ db: TestDatabase) async throws {
        try await db.pool.withConnection { connection in
            try connection.query(
                """
                INSERT INTO incidents (incident_id, version, status, category, subcategory, municipality, district, occurred_at, occurred_day,
                    sensitivity, killed, injured, abducted, displaced, record, reported_at, updated_at)
                SELECT gen_random_uuid(), 1, 'reported', 'unrest', 'peaceful_protest', m.code, m.district_code, '2026-11-01', DATE '2026-11-01' - g % 365,
                    CASE WHEN g % 50 = 0 THEN 'confidential' ELSE 'restricted' END, 0, 0, 0, 0,
                    CASE WHEN g % 50 = 0 THEN jsonb_build_object('sensitivity', 'confidential', 'narrative', jsonb_build_object('g', 1, 'sealed', 'AAAA'))
                         ELSE jsonb_build_object('summary', 'Generated incident ' || g || ' near ' || m.name_sq, 'place', m.name_sq,
                              'perpetrator', CASE WHEN g % 10001 = 1 THEN 'Men from Dushkajë' END) END,
                    now(), now()
                FROM generate_series(1, $1::int) AS g
                JOIN (SELECT code, district_code, name_sq, row_number() OVER (ORDER BY code) - 1 AS n FROM municipalities) AS m ON m.n = g % 38
                """, [Self.rows])
            try connection.execute("ANALYZE incidents")
        }
    }

    /// The plan of the list's statement for `q` as `role` would run it, as text.
    static func plan(_ q: String, role: Role, _ db: TestDatabase, service: IncidentService) async throws -> String {
        var filter = IncidentFilter()
        filter.q = q
        let (sql, parameters, _) = try service.listStatement(filter, for: Principal(name: "someone", role: role))
        return try await db.pool.withConnection { connection in
            try connection.query("EXPLAIN " + sql, parameters).rows.map { try $0.decode(0, as: String.self) }.joined(separator: "\n")
        }
    }

    @Test("a rare word: a bitmap scan of the trigram index for an analyst; no scan of every row for the roles that see sealed rows")
    func rareWord() async throws {
        try await TestDatabase.with { db in
            try await Self.fill(db)
            let service = IncidentService(pool: db.pool, reference: try await ReferenceData.load(db.pool), keys: TestKeys.ring)
            let analyst = try await Self.plan("dushkaje", role: .analyst, db, service: service)
            print("plan of q=dushkaje for an analyst over \(Self.rows) rows:\n\(analyst)")
            #expect(analyst.contains("Bitmap Index Scan on incidents_search_idx"), "\(analyst)")
            #expect(!analyst.contains("Seq Scan") && !analyst.contains("incidents_sealed_idx"), "\(analyst)")
            // Their rows with sealed text (600 here) are candidates too: an index serves them, or
            // the listing's order finds a page of candidates early; never a scan of every row.
            for role in [Role.admin, .reviewer, .reporter] {
                let plan = try await Self.plan("Dushkajë", role: role, db, service: service)
                if role == .admin { print("plan of q=Dushkajë for an admin over \(Self.rows) rows:\n\(plan)") }
                #expect(!plan.contains("Seq Scan"), "\(role): \(plan)")
            }

            // What the statement finds: the three rows, whatever the diacritics.
            var filter = IncidentFilter()
            filter.q = "DUSHKAJE"
            let (sql, parameters, _) = try service.listStatement(filter, for: Principal(name: "someone", role: .analyst))
            let found = try await db.pool.withConnection { try $0.query(sql, parameters).rows.count }
            #expect(found == 3)
        }
    }

    @Test("a region's name: its other names as whole words too, and no scan of every row")
    func regionName() async throws {
        try await TestDatabase.with { db in
            try await Self.fill(db)
            let service = IncidentService(pool: db.pool, reference: try await ReferenceData.load(db.pool), keys: TestKeys.ring)
            var filter = IncidentFilter()
            filter.q = "Peja"
            filter.since = "2026-10-25"
            let (sql, parameters, search) = try service.listStatement(filter, for: Principal(name: "someone", role: .analyst))
            #expect(search?.q == "Peja" && search?.otherNames == ["Pejë", "Peć"])
            let plan = try await db.pool.withConnection { connection in
                try connection.query("EXPLAIN " + sql, parameters).rows.map { try $0.decode(0, as: String.self) }.joined(separator: "\n")
            }
            print("plan of q=Peja since 2026-10-25 for an analyst over \(Self.rows) rows:\n\(plan)")
            #expect(!plan.contains("Seq Scan"), "\(plan)")
        }
    }
}
