import ArgumentParser
import Foundation
import IncidentStore
import Logging
import PostgresLibpq

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load a demo data set of realistic incidents (seeded: the same every time).",
        discussion:
            "Incidents over the past 12 weeks in every district and category, with amendments, verifications, rejections and retractions, written through the same validation and events as the API."
    )

    @Option(help: "How many incidents.") var count = 300
    @Option(help: "Random seed.") var seed: UInt64 = 1999
    @Flag(help: "Do nothing when the log already holds incidents.") var ifEmpty = false
    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let keySource = try database.masterKeySource()
        let keys = try keySource.load(logger: Logger(label: "incidentd"))
        try await Database.withMigratedPool(database, keys: { try await prepareKeys(keys, source: keySource, on: $0, logger: $1) }) { pool, _ in
            let existing: Int = try await pool.withConnection { try LogReads.count(on: $0) }
            if ifEmpty && existing > 0 {
                FileHandle.standardError.write(Data("demo: the log already holds \(existing) events; nothing loaded\n".utf8))
                return
            }
            let service = IncidentService(pool: pool, reference: try await ReferenceData.load(pool), keys: keys, erasures: keySource.ledger)
            var generator = DemoData(seed: seed)
            let stats = try await generator.load(count: count, into: service)
            FileHandle.standardError.write(Data("demo: \(stats)\n".utf8))
        }
    }
}

/// A reproducible generator (SplitMix64).
struct SeededRandom: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

struct DemoData {
    var random: SeededRandom

    init(seed: UInt64) { random = SeededRandom(state: seed) }

    /// Subcategory → (weight, summary templates, casualty profile).
    /// A kind of incident the demo makes, how often, and the figures it may carry.
    typealias Scenario = (category: String, subcategory: String, weight: Int, summaries: [String], killed: Int, injured: Int)

    static let scenarios: [Scenario] = [
        (
            "ethnic_violence", "assault", 10,
            [
                "Two men assaulted a returnee near the market.", "A group attacked a young man on his way home; he was treated at the health centre.",
                "A shopkeeper was beaten after an argument that turned on ethnicity.",
            ], 0, 3
        ),
        (
            "ethnic_violence", "threat_intimidation", 9,
            [
                "Threatening graffiti appeared on houses of a minority community.", "Families received anonymous threats telling them to leave the village.",
                "Youths shouted threats at a school bus carrying minority pupils.",
            ], 0, 0
        ),
        (
            "ethnic_violence", "property_damage", 8,
            [
                "Windows of three houses were broken during the night.", "A car belonging to a returnee family was set on fire.",
                "Fruit trees on a returnee's land were cut down.",
            ], 0, 0
        ),
        (
            "ethnic_violence", "religious_cultural_site", 4,
            [
                "Gravestones in an Orthodox cemetery were damaged.", "A mosque wall was sprayed with offensive graffiti.",
                "Items were stolen from a church under heritage protection.",
            ], 0, 0
        ),
        (
            "ethnic_violence", "hate_speech", 4,
            ["A local politician's speech called for a community's expulsion.", "Posters with hate speech were put up near the bus station."], 0, 0
        ),
        ("ethnic_violence", "killing", 1, ["A man was shot dead in a dispute with clear ethnic overtones; police investigate."], 1, 1),
        (
            "trafficking", "migrant_smuggling", 4,
            ["Police stopped a van carrying migrants towards the border.", "A group of migrants was found in a truck at a checkpoint."], 0, 0
        ),
        ("trafficking", "drug_smuggling", 3, ["Police seized cannabis at a border crossing.", "A car with hidden drugs was stopped on the main road."], 0, 0),
        ("trafficking", "goods_smuggling", 3, ["Customs seized smuggled fuel and cigarettes on a forest road."], 0, 0),
        ("trafficking", "human_trafficking", 1, ["A woman was found held against her will in a bar; referred to a shelter."], 0, 0),
        (
            "return_obstacle", "property_occupation", 6,
            ["A returnee found his house occupied by another family.", "Agricultural land of a returnee family is being used without consent."], 0, 0
        ),
        (
            "return_obstacle", "looting_returnee_property", 5,
            ["A returnee house under reconstruction was looted of building materials.", "Roof tiles and doors were stolen from a returnee's house."], 0, 0
        ),
        (
            "return_obstacle", "administrative_obstruction", 4,
            ["Returnees were refused civil documents at the municipal office.", "Property records needed for a return were reported lost."], 0, 0
        ),
        ("return_obstacle", "community_opposition", 3, ["Residents blocked the road to stop a go-and-see visit of displaced persons."], 0, 0),
        ("return_obstacle", "security_incident_at_return_site", 3, ["Shots were fired in the air near a return site at night."], 0, 1),
        (
            "access_security", "roadblock_obstruction", 4,
            ["A roadblock stopped a humanitarian convoy for three hours.", "Barricades blocked access to a village for aid deliveries."], 0, 0
        ),
        ("access_security", "threat_to_staff", 3, ["Staff of an NGO were threatened during a distribution."], 0, 0),
        ("access_security", "theft_robbery", 2, ["A field office was burgled; laptops were stolen."], 0, 0),
        ("unrest", "peaceful_protest", 5, ["Several hundred people protested peacefully in front of the municipal building."], 0, 0),
        ("unrest", "protest_with_intervention", 3, ["Police dispersed a protest at the bridge; several people were detained."], 0, 2),
        ("unrest", "violent_demonstration", 2, ["Demonstrators threw stones at police; injuries on both sides."], 0, 8),
        ("explosives", "grenade", 2, ["A hand grenade was thrown into a yard at night; no one was hurt."], 0, 1),
        ("explosives", "ied_landmine_uxo", 2, ["A farmer found unexploded ordnance in his field; KFOR removed it."], 0, 0),
        ("explosives", "weapons_cache", 1, ["Police found a cache of rifles and ammunition in an abandoned house."], 0, 0),
        ("sexual_violence", "sexual_violence", 1, ["A sexual assault was reported to a women's organisation; the survivor is supported."], 0, 0),
        ("other", "other", 2, ["A dispute over water access between two villages escalated to a brawl."], 0, 2),
    ]

    static let reporters = ["officer.mitrovica", "officer.prizren", "officer.gjilan", "officer.peja", "officer.prishtina", "officer.ferizaj", "officer.gjakova"]

    mutating func pick<T>(_ items: [T]) -> T { items[Int(random.next() % UInt64(items.count))] }
    mutating func chance(_ percent: Int) -> Bool { Int(random.next() % 100) < percent }
    mutating func upTo(_ n: Int) -> Int { n == 0 ? 0 : Int(random.next() % UInt64(n + 1)) }

    mutating func load(count: Int, into service: IncidentService) async throws -> String {
        let municipalities = service.reference.regions.municipalities
        var counts = ["reported": 0, "amended": 0, "verified": 0, "rejected": 0, "retracted": 0]
        let today = Date()
        for index in 0..<count {
            let scenario = pickScenario()
            let municipality = pick(municipalities)
            let daysAgo = 1 + upTo(83)
            let day = IncidentTime.kosovoDay(of: today.addingTimeInterval(-Double(daysAgo) * 86_400))
            let body = reportBody(scenario, in: municipality, on: day)
            let reporter = Principal(name: Self.reporters[index % Self.reporters.count], role: .reporter)
            let meta = EventMetadata(principal: reporter.name, role: "reporter", client: "incidentd demo")
            let outcome = try await service.report(.object(body), idempotencyKey: nil, by: reporter, metadata: meta)
            counts["reported", default: 0] += 1
            try await review(outcome.incidentID, in: service, counts: &counts)
        }
        return counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
    }

    /// A scenario, drawn by weight.
    mutating func pickScenario() -> Scenario {
        let totalWeight = Self.scenarios.map(\.weight).reduce(0, +)
        var roll = Int(random.next() % UInt64(totalWeight))
        for candidate in Self.scenarios {
            if roll < candidate.weight { return candidate }
            roll -= candidate.weight
        }
        return Self.scenarios[0]
    }

    /// A report of `scenario` as a field officer would send it.
    mutating func reportBody(_ scenario: Scenario, in municipality: Municipality, on day: String) -> [String: JSONValue] {
        var body: [String: JSONValue] = [
            "incident_id": .string(IncidentService.derivedIncidentID(UUID(uuid: uuidBytes())).lowercasedText),
            "category": .string(scenario.category), "subcategory": .string(scenario.subcategory),
            "occurred_at": .string(day), "municipality": .string(municipality.code),
            "summary": .string(pick(scenario.summaries)),
            "source_type": .string(pick(["direct_observation", "police", "victim", "witness", "community_leader", "ngo", "media"])),
            "killed": .number(Double(scenario.killed > 0 && chance(60) ? upTo(scenario.killed) + (chance(50) ? 1 : 0) : 0)),
            "injured": .number(Double(upTo(scenario.injured))),
            "source_reliability": .string(pick(["A", "B", "B", "C", "C", "D"])),
            "info_credibility": .number(Double(1 + upTo(3))),
            "sensitivity": .string(chance(15) ? "public" : "restricted"),
            "lat": .number(municipality.seatLat + Double(Int(random.next() % 200) - 100) / 10_000),
            "lon": .number(municipality.seatLon + Double(Int(random.next() % 200) - 100) / 10_000),
        ]
        if scenario.category == "return_obstacle" { body["displaced"] = .number(Double(chance(30) ? 1 + upTo(12) : 0)) }
        if scenario.category == "ethnic_violence" {
            body["affected_communities"] = .array([.string(pick(["serb", "albanian", "roma", "ashkali", "bosniak", "gorani"]))])
        }
        if chance(10) { body["personal"] = ["note": .string("Contact through the community focal point (demo data, not a real person).")] }
        return body
    }

    /// What a reviewer at headquarters then does with a report, by chance: amend, decide, retract.
    mutating func review(_ incidentID: UUID, in service: IncidentService, counts: inout [String: Int]) async throws {
        let reviewer = Principal(name: "reviewer.hq", role: .reviewer)
        let meta = EventMetadata(principal: reviewer.name, role: "reviewer", client: "incidentd demo")
        var version = 1
        if chance(20) {
            _ = try await service.amend(
                incidentID, expectedVersion: version, changes: ["injured": .number(Double(upTo(4) + 1)), "place": "near the main road"],
                reason: "figures corrected after a follow-up visit", idempotencyKey: nil, by: reviewer, metadata: meta)
            version += 1
            counts["amended", default: 0] += 1
        }
        if chance(55) {
            let verified = chance(85)
            _ = try await service.decide(
                incidentID, expectedVersion: version, decision: verified ? .verified : .rejected,
                note: verified ? "confirmed by a second source" : "could not be corroborated",
                idempotencyKey: nil, by: reviewer, metadata: meta)
            version += 1
            counts[verified ? "verified" : "rejected", default: 0] += 1
        }
        if chance(4) {
            _ = try await service.retract(
                incidentID, expectedVersion: version, reason: "duplicate", duplicateOf: nil,
                idempotencyKey: nil, by: reviewer, metadata: meta)
            counts["retracted", default: 0] += 1
        }
    }

    mutating func uuidBytes() -> uuid_t {
        let a = random.next(), b = random.next()
        return withUnsafeBytes(of: (a, b)) { raw in
            let p = raw.bindMemory(to: UInt8.self)
            return (p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15])
        }
    }
}
