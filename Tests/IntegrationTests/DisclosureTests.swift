import Foundation
import IncidentTesting
import PostgresLibpq
import Testing

@testable import IncidentStore

/// docs/data-model.md, Who sees what: what analysts receive never singles out a confidential incident; reviewers
/// and admins get the exact figures.
@Suite("Disclosure control: small cells")
struct DisclosureTests {
    static let admin = Principal(name: "world.admin", role: .admin)
    static let analyst = Principal(name: "world.analyst", role: .analyst)
    static let reviewer = Principal(name: "world.reviewer", role: .reviewer)
    static let threshold = 5

    /// One incident as the world ends: what the figures must count.
    struct Truth {
        var day: String
        var municipality: String
        var category: String
        var counts: Bool
        var confidential: Bool
        var killed: Int
    }

    /// What one answered figure covers: municipalities, an inclusive day range, a category (nil: all).
    struct Scope {
        var municipalities: Set<String>
        var since: String
        var until: String
        var category: String?

        func contains(_ truth: Truth) -> Bool {
            municipalities.contains(truth.municipality) && truth.day >= since && truth.day <= until && (category == nil || category == truth.category)
        }

        func isInside(_ other: Scope) -> Bool {
            municipalities.isSubset(of: other.municipalities) && since >= other.since && until <= other.until
                && (other.category == nil || other.category == category)
        }
    }

    /// A figure an analyst received, and how many confidential incidents it counts (its figure
    /// less the exact non-confidential count of its scope).
    struct Seen {
        var scope: Scope
        var incidents: Int
        var confidential: Int
        var what: String
    }

    /// Both read models caught up with the log (the tests run no projector).
    static func catchUp(_ service: IncidentService, _ pool: ConnectionPool) async throws {
        let regions = service.reference.regions
        try await catchUpFully([IncidentsProjection(regions: regions, narrative: service.narrative), RegionSummaryProjection(regions: regions)], pool)
    }

    @Test(
        "a random world: analysts' figures never count 1 to k-1 confidential incidents, alone or in differences; reviewers and admins get exact figures",
        arguments: [UInt64(3), 17])
    func smallCells(seed: UInt64) async throws {
        do { try await world(seed: seed) } catch let error as DatabaseError { Issue.record("\(error.debugDescription)"); throw error }
    }

    func world(seed: UInt64) async throws {
        try await TestDatabase.with { db in
            var world = try await World(db, seed: seed)
            try await world.reportIncidents()
            // Amendments (sensitivity both ways, category, municipality, day), decisions, retractions.
            try await world.reviseAtRandom()
            try await Self.catchUp(world.service, db.pool)

            // The recomputation: every incident's final state, as an admin folds it from its stream.
            try await world.foldTheTruth()
            let confidentialCount = world.truths.filter { $0.counts && $0.confidential }.count
            #expect(confidentialCount >= 60, "a third of the world is confidential")

            // Many random questions, as the analyst and as the exact roles.
            let (summariesSeen, exactChecked) = try await world.askSummaries()
            let seen = summariesSeen + (try await world.readDigests())
            // The analyst's own list: never a confidential incident, and the same count as a figure's.
            try await world.analystListsNoConfidentialIncident()

            // The attacks: each figure alone, and every difference of two nested figures.
            Self.noFigureSinglesOutConfidentialIncidents(seen)
            #expect(exactChecked == 320)
        }
    }

    /// The attacks on what analysts saw: no figure, and no difference of two nested figures, counts
    /// 1 to k-1 confidential incidents.
    private static func noFigureSinglesOutConfidentialIncidents(_ seen: [Seen]) {
        #expect(seen.contains { $0.confidential >= Self.threshold }, "some cells qualify: the world exercises both sides of the rule")
        var pairs = 0
        for figure in seen {
            #expect(!(1..<Self.threshold).contains(figure.confidential), "\(figure.what) counts \(figure.confidential) confidential incidents")
        }
        let byCategory = Dictionary(grouping: seen.indices) { seen[$0].scope.category ?? "" }
        for (category, indices) in byCategory {
            let wider = category.isEmpty ? indices : indices + (byCategory[""] ?? [])
            for i in indices {
                for j in wider where i != j && seen[i].scope.isInside(seen[j].scope) {
                    pairs += 1
                    let difference = seen[j].confidential - seen[i].confidential
                    #expect(
                        !(1..<Self.threshold).contains(difference),
                        "\(seen[j].what) less \(seen[i].what) counts \(difference) confidential incidents")
                }
            }
        }
        #expect(pairs > 1000, "the attacks compare many nested figures")
    }

    /// The random world of `smallCells`: its reference data, days and weeks, the incidents written
    /// and, once folded, what the figures must count; a method for each phase.
    private struct World {
        let service: IncidentService
        var random: SeededGenerator
        let regions: RegionDirectory
        let municipalities: [String]
        let today: String
        let weeks: [IsoWeek]
        let days: [String]
        let categories: [Taxonomy.Category]
        let metadata: EventMetadata
        var incidents: [(id: UUID, version: Int)] = []
        var truths: [Truth] = []
        var everywhere: Set<String> { Set(municipalities) }

        init(_ db: TestDatabase, seed: UInt64) async throws {
            let reference = try await ReferenceData.load(db.pool)
            service = IncidentService(pool: db.pool, reference: reference, keys: TestKeys.ring, disclosure: Disclosure(threshold: DisclosureTests.threshold))
            random = SeededGenerator(seed: seed)
            regions = reference.regions
            municipalities = regions.municipalities.map(\.code)
            let today = IncidentTime.kosovoDay(of: Date())
            self.today = today
            let lastWeek = IsoWeek.last(before: Date())
            weeks = (0..<12).map { lastWeek.advanced(by: -$0) }
            days = weeks.flatMap { week in (0..<7).map { IsoWeek.format(week.monday + $0) } }.filter { $0 < today }
            categories = reference.taxonomy.categories
            metadata = EventMetadata(principal: DisclosureTests.admin.name, role: "admin", client: "tests")
        }

        /// 330 reports, a third confidential, crowded as the comment inside says.
        mutating func reportIncidents() async throws {
            // Confidential reports crowd into two categories, two districts and four weeks, so
            // that some cells reach the threshold and many do not.
            let hotCategories = Array(categories.prefix(2))
            let hotDistricts = Array(regions.districts.map(\.code).prefix(2))
            let hotMunicipalities = regions.municipalities.filter { hotDistricts.contains($0.districtCode) }.map(\.code)
            let hotDays = weeks.prefix(4).flatMap { week in (0..<7).map { IsoWeek.format(week.monday + $0) } }
            let admin = DisclosureTests.admin
            for n in 0..<330 {
                let confidential = n % 3 == 0
                let category =
                    confidential && Int.random(in: 0..<10, using: &random) < 8
                    ? hotCategories.randomElement(using: &random)! : categories.randomElement(using: &random)!
                let municipality =
                    confidential && Int.random(in: 0..<10, using: &random) < 8
                    ? hotMunicipalities.randomElement(using: &random)! : municipalities[n % municipalities.count]
                let day = confidential && Int.random(in: 0..<10, using: &random) < 8 ? hotDays.randomElement(using: &random)! : days.randomElement(using: &random)!
                let outcome = try await service.report(
                    [
                        "category": .string(category.code), "subcategory": .string(category.subcategories.randomElement(using: &random)!.code),
                        "occurred_at": .string(min(day, today)), "municipality": .string(municipality), "summary": .string("World incident \(n)."),
                        "source_type": "witness", "sensitivity": .string(confidential ? "confidential" : "restricted"),
                        "killed": .number(Double(Int.random(in: 0...2, using: &random))),
                    ], idempotencyKey: nil, by: admin, metadata: metadata)
                incidents.append((outcome.incidentID, outcome.streamVersion))
            }
        }

        /// 220 random writes on random incidents: amendments, decisions, retractions (refusals ignored).
        mutating func reviseAtRandom() async throws {
            let admin = DisclosureTests.admin
            for _ in 0..<220 {
                let index = Int.random(in: 0..<incidents.count, using: &random)
                let (id, version) = incidents[index]
                do {
                    let outcome: WriteOutcome
                    switch Int.random(in: 0..<100, using: &random) {
                    case 0..<45:
                        var changes: [String: JSONValue] = [:]
                        switch Int.random(in: 0..<4, using: &random) {
                        case 0: changes["sensitivity"] = Bool.random(using: &random) ? "confidential" : "public"
                        case 1:
                            let category = categories.randomElement(using: &random)!
                            changes["category"] = .string(category.code)
                            changes["subcategory"] = .string(category.subcategories[0].code)
                        case 2: changes["municipality"] = .string(municipalities.randomElement(using: &random)!)
                        default: changes["occurred_at"] = .string(days.randomElement(using: &random)!)
                        }
                        outcome = try await service.amend(
                            id, expectedVersion: version, changes: .object(changes), reason: "correction",
                            idempotencyKey: nil, by: admin, metadata: metadata)
                    case 45..<75:
                        outcome = try await service.decide(
                            id, expectedVersion: version, decision: .verified, note: "confirmed",
                            idempotencyKey: nil, by: admin, metadata: metadata)
                    case 75..<90:
                        outcome = try await service.decide(
                            id, expectedVersion: version, decision: .rejected, note: "not confirmed",
                            idempotencyKey: nil, by: admin, metadata: metadata)
                    default:
                        outcome = try await service.retract(
                            id, expectedVersion: version, reason: "erroneous", duplicateOf: nil,
                            idempotencyKey: nil, by: admin, metadata: metadata)
                    }
                    incidents[index].version = outcome.streamVersion
                } catch is ServiceError {}
            }
        }

        /// Every incident's final state, as an admin folds it from its stream.
        mutating func foldTheTruth() async throws {
            for (id, _) in incidents {
                let state = try await service.incident(id, history: false, for: DisclosureTests.admin).state
                truths.append(
                    Truth(
                        day: IncidentTime.day(ofOccurredAt: state.record.occurredAt), municipality: state.record.municipality,
                        category: state.record.category, counts: state.status.counts,
                        confidential: state.record.sensitivity == .confidential, killed: state.record.killed))
            }
        }

        /// The exact figures of `scope`: incidents, killed, and the non-confidential incidents.
        func exact(_ scope: Scope) -> (incidents: Int, killed: Int, plain: Int) {
            let counted = truths.filter { $0.counts && scope.contains($0) }
            return (counted.count, counted.map(\.killed).reduce(0, +), counted.filter { !$0.confidential }.count)
        }

        func district(_ code: String) -> Set<String> { Set(regions.municipalities.filter { $0.districtCode == code }.map(\.code)) }

        /// 160 random summary questions as the analyst (what it saw is returned) and as the exact
        /// roles; returns what the analyst saw and the number of exact answers checked.
        mutating func askSummaries() async throws -> (seen: [Seen], exactChecked: Int) {
            let regions = regions
            // The closure below must not capture `self`, which this method mutates.
            func district(_ code: String) -> Set<String> { Set(regions.municipalities.filter { $0.districtCode == code }.map(\.code)) }
            var seen: [Seen] = []
            var exactChecked = 0
            for question in 0..<160 {
                let level: SummaryLevel = Bool.random(using: &random) ? .district : .municipality
                var since: String? = days.randomElement(using: &random)
                var until: String? = days.randomElement(using: &random)
                if let a = since, let b = until, a > b { (since, until) = (b, a) }
                if question % 7 == 0 { since = nil }
                if question % 11 == 0 { until = nil }
                let category = Bool.random(using: &random) ? categories.randomElement(using: &random)!.code : nil
                let scopeOf = { (row: RegionSummary.Row) in
                    Scope(
                        municipalities: level == .district ? district(row.code) : [row.code], since: since ?? "0000-01-01", until: until ?? "9999-12-31",
                        category: row.category)
                }
                let coarse = try await service.summary(level: level.rawValue, since: since, until: until, category: category, for: DisclosureTests.analyst)
                #expect(coarse.disclosure == Disclosure.Applied(threshold: DisclosureTests.threshold, confidential: .coarsened))
                for row in coarse.rows {
                    let scope = scopeOf(row)
                    let truth = exact(scope)
                    seen.append(
                        Seen(
                            scope: scope, incidents: row.figures.incidents, confidential: row.figures.incidents - truth.plain,
                            what: "summary \(level) \(since ?? "…")..\(until ?? "…") \(row.code) \(row.category)"))
                    if level == .municipality { #expect(row.figures.incidents == truth.plain, "a municipality figure counts non-confidential incidents only") }
                }
                for principal in [DisclosureTests.reviewer, DisclosureTests.admin] {
                    try await exactFigures(for: principal, level: level, since: since, until: until, category: category)
                    exactChecked += 1
                }
            }
            return (seen, exactChecked)
        }

        /// A reviewer's or admin's summary: exactly the figures of the truth.
        func exactFigures(for principal: Principal, level: SummaryLevel, since: String?, until: String?, category: String?) async throws {
            let answer = try await service.summary(level: level.rawValue, since: since, until: until, category: category, for: principal)
            #expect(answer.disclosure.confidential == .exact)
            let expected = Dictionary(
                uniqueKeysWithValues: Set(
                    truths.filter(\.counts).compactMap { t -> String? in
                        let code = level == .district ? regions.municipality(code: t.municipality)!.districtCode : t.municipality
                        let scope = Scope(
                            municipalities: level == .district ? district(code) : [code], since: since ?? "0000-01-01", until: until ?? "9999-12-31", category: t.category
                        )
                        return (category == nil || category == t.category) && scope.contains(t) ? code + "|" + t.category : nil
                    }
                ).map { key in
                    let parts = key.split(separator: "|").map(String.init)
                    let scope = Scope(
                        municipalities: level == .district ? district(parts[0]) : [parts[0]], since: since ?? "0000-01-01", until: until ?? "9999-12-31",
                        category: parts[1])
                    let truth = exact(scope)
                    return (key, (truth.incidents, truth.killed))
                })
            let got = Dictionary(uniqueKeysWithValues: answer.rows.map { ($0.code + "|" + $0.category, ($0.figures.incidents, $0.figures.killed)) })
            #expect(got.mapValues { [$0.0, $0.1] } == expected.mapValues { [$0.0, $0.1] }, "exact figures for \(principal.role)")
        }

        /// Ten weekly digests as the analyst (what it saw is returned) and as a reviewer.
        func readDigests() async throws -> [Seen] {
            var seen: [Seen] = []
            for week in weeks.prefix(10) {
                let digest = try await service.weeklyDigest(week: week.description, for: DisclosureTests.analyst)
                #expect(digest.disclosure == Disclosure.Applied(threshold: DisclosureTests.threshold, confidential: .coarsened))
                for (offset, point) in digest.trend.enumerated() {
                    let w = week.advanced(by: offset - 7)
                    let scope = Scope(municipalities: everywhere, since: w.from, until: w.to, category: nil)
                    seen.append(Seen(scope: scope, incidents: point.incidents, confidential: point.incidents - exact(scope).plain, what: "digest \(week) trend \(w)"))
                }
                let total = Scope(municipalities: everywhere, since: week.from, until: week.to, category: nil)
                seen.append(
                    Seen(scope: total, incidents: digest.totals.incidents, confidential: digest.totals.incidents - exact(total).plain, what: "digest \(week) totals"))
                for row in digest.byRegion {
                    let scope = Scope(municipalities: [row.municipality], since: week.from, until: week.to, category: row.category)
                    #expect(row.figures.incidents == exact(scope).plain, "a digest's municipality row counts non-confidential incidents only")
                }
                for mover in digest.movers {
                    let scope = Scope(municipalities: [mover.municipality], since: week.from, until: week.to, category: nil)
                    #expect(mover.incidents == exact(scope).plain)
                }
                let exactDigest = try await service.weeklyDigest(week: week.description, for: DisclosureTests.reviewer)
                #expect(exactDigest.totals.incidents == exact(total).incidents)
                #expect(exactDigest.disclosure.confidential == .exact)
            }
            return seen
        }

        /// The analyst's own list: never a confidential incident, and the same count as a figure's.
        func analystListsNoConfidentialIncident() async throws {
            var listed = 0
            var filter = IncidentFilter()
            filter.limit = 500
            repeat {
                let page = try await service.list(filter, for: DisclosureTests.analyst)
                #expect(page.items.allSatisfy { $0.state.record.sensitivity != .confidential })
                listed += page.items.filter { $0.state.status.counts }.count
                filter.cursor = page.nextCursor
            } while filter.cursor != nil
            #expect(listed == truths.filter { $0.counts && !$0.confidential }.count)
        }
    }

    @Test("an incident that stops being confidential: analysts see it from then on, its history from that event, and digests none of its confidential past")
    func historyAfterConfidential() async throws {
        try await TestDatabase.with { db in
            let reference = try await ReferenceData.load(db.pool)
            let service = IncidentService(pool: db.pool, reference: reference, keys: TestKeys.ring)
            let metadata = EventMetadata(principal: Self.admin.name, role: "admin", client: "tests")
            let category = reference.taxonomy.categories[0]
            let reported = try await service.report(
                [
                    "category": .string(category.code), "subcategory": .string(category.subcategories[0].code),
                    "occurred_at": .string(IsoWeek(containing: Date()).advanced(by: -2).from),
                    "municipality": .string(reference.regions.municipalities[0].code), "summary": "A confidential report.",
                    "source_type": "witness", "sensitivity": "confidential",
                ], idempotencyKey: nil, by: Self.admin, metadata: metadata)
            let id = reported.incidentID
            let verified = try await service.decide(
                id, expectedVersion: 1, decision: .verified, note: "seen by two", idempotencyKey: nil, by: Self.admin, metadata: metadata)
            await #expect(throws: ServiceError.self) { try await service.incident(id, history: true, for: Self.analyst) }
            let opened = try await service.amend(
                id, expectedVersion: verified.streamVersion, changes: ["sensitivity": "restricted"], reason: "cleared",
                idempotencyKey: nil, by: Self.admin, metadata: metadata)
            let view = try await service.incident(id, history: true, for: Self.analyst)
            #expect(view.events?.map(\.streamVersion) == [opened.streamVersion])
            #expect(try await service.incident(id, history: true, for: Self.reviewer).events?.count == 3)
            // The digest of this week: the amendment that opened it, not the decision taken while it was confidential.
            try await Self.catchUp(service, db.pool)
            let digest = try await service.weeklyDigest(week: IsoWeek(containing: Date()).description, for: Self.reviewer)
            #expect(digest.revisions.filter { $0.incidentID == id }.map(\.change) == ["amended"])
        }
    }
}
