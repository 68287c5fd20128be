import Foundation
import HTTPTypes
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

/// docs/api.md, The list: what `GET /v1/incidents?q=` finds.
@Suite("Incident search by q: diacritics, case, region names, literal metacharacters, confidential incidents")
struct IncidentSearchTests {
    /// Reports each body, waits for the read model, and returns the ids in order.
    static func reportAll(_ api: API, _ bodies: [[String: JSONValue?]], token: String? = nil) async throws -> [String] {
        var ids: [String] = []
        for body in bodies {
            let created = try await api.call(.post, "/v1/incidents", token: token ?? api.reporter, json: report(body))
            #expect(created.status == 201, "\(created.json?.encodedString ?? "")")
            ids.append(try #require(created["incident_id"]?.stringValue))
        }
        try await api.settle()
        return ids
    }

    /// The ids a search finds for `token`, as a set.
    static func found(_ api: API, _ q: String, token: String) async throws -> Set<String> {
        let query = q.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
        let listed = try await api.call(.get, "/v1/incidents?limit=500&q=\(query)", token: token)
        #expect(listed.status == 200, "q=\(q): \(listed.json?.encodedString ?? "")")
        return Set((listed["items"]?.arrayValue ?? []).compactMap { $0.objectValue?["incident"]?.objectValue?["incident_id"]?.stringValue })
    }

    @Test("diacritics and case are ignored both ways, in the summary, the place, the perpetrator and the target")
    func diacriticsAndCase() async throws {
        try await API.run { api in
            let ids = try await Self.reportAll(
                api,
                [
                    ["summary": "Stones were thrown at a bus in Fushë Kosovë."],
                    ["summary": "A bus was stopped.", "place": "Rruga e Dëshmorëve"],
                    ["summary": "A shop was burnt.", "perpetrator": "Masked men from Dušanovo"],
                    ["summary": "Graffiti on a house.", "target": "the ČAUŠEVIĆ family"],
                    ["summary": "FUSHE KOSOVE market closed after a threat."],
                ])
            let (stones, street, shop, graffiti, market) = (ids[0], ids[1], ids[2], ids[3], ids[4])
            let cases: [(String, Set<String>)] = [
                ("Fushë Kosovë", [stones, market]), ("fushe kosove", [stones, market]), ("FUSHË", [stones, market]),
                ("dëshmorëve", [street]), ("DESHMOREVE", [street]), ("rruga e d", [street]),
                ("dusanovo", [shop]), ("DUŠANOVO", [shop]), ("Masked Men", [shop]),
                ("Čaušević", [graffiti]), ("causevic family", [graffiti]), ("ćaušević", [graffiti]),
                ("Prizren", []),
            ]
            for (q, expected) in cases {
                #expect(try await Self.found(api, q, token: api.analyst) == expected, "q=\(q)")
            }
            // Within one text only: the end of a summary and the start of a place are not one text.
            #expect(try await Self.found(api, "stopped. rruga", token: api.analyst).isEmpty)
        }
    }

    @Test("a name of a municipality or district, in either language or an alias, finds its other names; other text finds itself only")
    func regionNames() async throws {
        try await API.run { api in
            let ids = try await Self.reportAll(
                api,
                [
                    ["summary": "A roadblock on the way out of Peć."], ["summary": "A protest in Peja."], ["summary": "Windows broken in Pejë."],
                    ["summary": "A threat in Đakovica."], ["summary": "A fire in Gjakova."], ["summary": "Specific threats were made."],
                ])
            let (pec, peja, peje, dakovica, gjakova, specific) = (ids[0], ids[1], ids[2], ids[3], ids[4], ids[5])
            let cases: [(String, Set<String>)] = [
                ("Peja", [pec, peja, peje]), ("peja", [pec, peja, peje]), ("Pejë", [pec, peja, peje]), ("PEJE", [pec, peja, peje]),
                ("Peć", [pec, peja, peje, specific]),  // "pec" is a name, and a substring of "specific"
                ("Gjakova", [dakovica, gjakova]), ("Djakovica", [dakovica, gjakova]), ("gjakovë", [dakovica, gjakova]),
                // Not a name: a substring, found as itself.
                ("Pej", [peja, peje]), ("protest in peja", [peja]),
            ]
            for (q, expected) in cases {
                #expect(try await Self.found(api, q, token: api.reviewer) == expected, "q=\(q)")
            }
        }
    }

    @Test("%, _ and \\ in q are literal characters")
    func literalMetacharacters() async throws {
        try await API.run { api in
            let ids = try await Self.reportAll(
                api,
                [
                    ["summary": "Fuel went up 50% in Shtime."], ["summary": "Fuel went up 500 euro in Shtime."],
                    ["summary": "The code a_b was painted."], ["summary": "The code axb was painted."],
                    ["summary": "A note said C:\\temp\\x."], ["summary": "A note said C:tempx."],
                ])
            let cases: [(String, Set<String>)] = [
                ("50%", [ids[0]]), ("%", [ids[0]]), ("up 50% in", [ids[0]]), ("a_b", [ids[2]]), ("_", [ids[2]]),
                ("\\", [ids[4]]), ("C:\\temp", [ids[4]]), ("%%", []), ("a%b", []), ("\\%", []),
            ]
            for (q, expected) in cases {
                #expect(try await Self.found(api, q, token: api.admin) == expected, "q=\(q)")
            }
        }
    }

    @Test("a confidential incident is found by its text by the roles that may see it, by no other, and its row holds none of its text")
    func confidentialIncidents() async throws {
        try await API.run { api in
            let confidential = try await Self.reportAll(
                api,
                [
                    [
                        "category": "sexual_violence", "subcategory": "sexual_violence", "summary": "An assault near the Lumbardhi bridge in Pejë.",
                        "place": "Lumbardhi bridge", "perpetrator": "a neighbour", "target": "a woman of the Gashi family",
                    ]
                ])[0]
            let open = try await Self.reportAll(api, [["summary": "An assault near the Lumbardhi bridge, reported by the police."]])[0]
            for q in ["lumbardhi", "LUMBARDHI BRIDGE", "Peja", "pejë", "neighbour", "gashi family"] {
                for (role, token) in [("admin", api.admin), ("reviewer", api.reviewer), ("its reporter", api.reporter)] {
                    #expect(try await Self.found(api, q, token: token).contains(confidential), "\(role), q=\(q)")
                }
                for (role, token) in [("analyst", api.analyst), ("another reporter", api.otherReporter)] {
                    #expect(!(try await Self.found(api, q, token: token).contains(confidential)), "\(role), q=\(q)")
                }
            }
            #expect(try await Self.found(api, "lumbardhi", token: api.analyst) == [open])
            #expect(try await Self.found(api, "lumbardhi", token: api.admin) == [confidential, open])
            #expect(try await Self.found(api, "not in it", token: api.admin).isEmpty)
            // The row's searchable text holds nothing of the sealed text (a dump shows none of it).
            let stored: String = try await api.db.pool.withConnection { connection in
                try connection.query("SELECT search_text || record::text FROM incidents WHERE incident_id = $1::uuid", [confidential]).first!.decode(0)
            }
            #expect(!stored.lowercased().contains("lumbardhi") && !stored.lowercased().contains("gashi"), "\(stored)")
        }
    }
}
