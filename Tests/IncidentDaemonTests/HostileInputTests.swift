import Foundation
import HTTPTypes
import HummingbirdTesting
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

@testable import IncidentDaemon

/// Targeted hostile input, beside the generated requests of `scripts/fuzz-api`.
@Suite("Hostile input")
struct HostileInputTests {
    @Test("over the limits, broken UTF-8, NUL bytes, deep nesting, huge numbers: a 4xx with a JSON error each, nothing stored")
    func malformed() async throws {
        try await API.run { api in
            var seen: [String] = []
            for (name, path, body, type, statuses) in Self.hostileBodies() {
                let reply = try await api.call(.post, path, token: api.admin, raw: body, headers: [.contentType: type])
                #expect(statuses.contains(reply.status), "\(name): \(reply.status) \(reply.json?.encodedString.prefix(300) ?? "")")
                #expect(reply.errorCode != nil, "\(name): a JSON error")
                seen.append("\(name) → \(reply.status) \(reply.errorCode ?? "")")
            }
            // Declared over the limit: a 413 from the headers, before any of the body is read. From
            // a raw socket, with the headers and the first 64 KiB only: the test client pushes the
            // whole body through the debug build first, which on a loaded machine can take longer
            // than the client's 15 s timeout.
            let port = try #require(api.client.port)
            for (name, path, declared) in [
                ("a body over 1 MiB", "/v1/incidents", 1_100_000), ("an amendment over 1 MiB", "/v1/incidents/\(UUID())/amendments", 1_100_000),
                ("a batch over 32 MiB", "/v1/incidents:batch", 33 << 20),
            ] {
                let head =
                    "POST \(path) HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(api.admin)\r\nContent-Type: application/json\r\nContent-Length: \(declared)\r\n\r\n"
                let answer = await RawClient.spawn(port: port) { socket in
                    socket.send(Data(head.utf8) + Data("{\"summary\": \"".utf8) + Data(repeating: UInt8(ascii: "x"), count: 65_536))
                    var answer = socket.receive(timeout: 30) ?? ""
                    // The head and the body may come in two reads.
                    if !answer.contains("}"), let rest = socket.receive(timeout: 10) { answer += rest }
                    return answer
                }.value
                #expect(answer.hasPrefix("HTTP/1.1 413"), "\(name): \(answer.prefix(300))")
                #expect(answer.contains("payload_too_large"), "\(name): a JSON error")
                seen.append("\(name) → \(answer.prefix(12))")
            }
            print("hostile input: " + seen.joined(separator: "; "))
            #expect(try await eventCount(api.db) == 0, "nothing was stored")
            #expect(try await api.call(.get, "/readyz", token: nil).status == 200)
        }
    }

    /// Bodies that break a limit or the JSON grammar: name, path, body, content type, the statuses allowed.
    private static func hostileBodies() -> [(String, String, Data, String, Set<Int>)] {
        func text(_ value: JSONValue) -> String { String(decoding: value.encoded(), as: UTF8.self) }
        let valid = text(report())
        func withField(_ field: String, raw: String) -> Data { Data(valid.replacingOccurrences(of: "{", with: "{\"\(field)\":\(raw),", options: .anchored).utf8) }
        let line = text(report()) + "\n"
        return [
            ("a batch of 10,001 lines", "/v1/incidents:batch", Data(String(repeating: line, count: 10_001).utf8), "application/x-ndjson", [413]),
            ("a body cut mid-character", "/v1/incidents", Data("{\"summary\": \"Klin".utf8) + Data([0xC3]), "application/json", [400]),
            ("a string cut mid-character", "/v1/incidents", Data("{\"summary\": \"Klin".utf8) + Data([0xC3]) + Data("\"}".utf8), "application/json", [400]),
            ("an overlong encoding", "/v1/incidents", Data("{\"summary\": \"".utf8) + Data([0xC0, 0xAF]) + Data("\"}".utf8), "application/json", [400]),
            ("a lone surrogate escape", "/v1/incidents", withField("place", raw: "\"\\ud800\""), "application/json", [400, 422]),
            ("a raw NUL byte", "/v1/incidents", Data("{\"summary\": \"a".utf8) + Data([0]) + Data("b\"}".utf8), "application/json", [400]),
            ("an escaped NUL in a field", "/v1/incidents", Data(text(report(["summary": "before\u{0000}after"])).utf8), "application/json", [422]),
            ("an escaped NUL in a key", "/v1/incidents", withField("\\u0000", raw: "1"), "application/json", [400]),
            (
                "arrays nested 100,000 deep", "/v1/incidents", Data((String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)).utf8),
                "application/json", [400, 422]
            ),
            (
                "objects nested 50,000 deep", "/v1/incidents", Data((String(repeating: "{\"a\":", count: 50_000) + "1" + String(repeating: "}", count: 50_000)).utf8),
                "application/json", [400, 422]
            ),
            (
                "nesting inside personal data", "/v1/incidents",
                withField("personal", raw: String(repeating: "[", count: 20_000) + String(repeating: "]", count: 20_000)), "application/json", [400, 422]
            ),
            ("a 40-digit count", "/v1/incidents", withField("killed", raw: "1234567890123456789012345678901234567890"), "application/json", [422]),
            ("a count of 1e400", "/v1/incidents", withField("injured", raw: "1e400"), "application/json", [400, 422]),
            ("a fractional count", "/v1/incidents", withField("abducted", raw: "0.5"), "application/json", [422]),
            ("a latitude of 1e308", "/v1/incidents", withField("lat", raw: "1e308"), "application/json", [422]),
            (
                "a version of 2^63", "/v1/incidents/\(UUID())/amendments",
                Data("{\"expected_version\": 9223372036854775808, \"changes\": {\"killed\": 1}, \"reason\": \"r\"}".utf8), "application/json", [422]
            ),
            (
                "a 100,000-character token name", "/v1/admin/tokens", Data("{\"name\": \"\(String(repeating: "a", count: 100_000))\", \"role\": \"admin\"}".utf8),
                "application/json", [422]
            ),
        ]
    }

    @Test("SQL metacharacters are stored and read back verbatim, and match only themselves")
    func sqlMetacharacters() async throws {
        try await API.run { api in
            let summary = "Robert'); DROP TABLE events; -- and \"quotes\", back\\slash, 100% _under_ $1 $$ ; SELECT pg_sleep(10);"
            let place = "' OR '1'='1"
            let created = try await api.call(
                .post, "/v1/incidents", token: api.reporter, json: report(["summary": .string(summary), "place": .string(place), "tags": ["'; --", "%", "_"]]))
            #expect(created.status == 201)
            let id = try #require(created["incident_id"]?.stringValue)
            let other = try await api.call(.post, "/v1/incidents", token: api.reporter, json: report(["summary": "An ordinary report."]))
            #expect(other.status == 201)
            let read = try await api.call(.get, "/v1/incidents/\(id)", token: api.reporter)
            #expect(read["incident"]?.objectValue?["summary"]?.stringValue == summary)
            #expect(read["incident"]?.objectValue?["place"]?.stringValue == place)
            #expect(read["incident"]?.objectValue?["tags"] == ["'; --", "%", "_"])
            let stored: String = try await api.db.pool.withConnection {
                try $0.query("SELECT data::text FROM events WHERE stream = $1", ["incident-" + id]).first!.decode(0)
            }
            #expect(!stored.contains("DROP TABLE") && !stored.contains("OR '1'='1"), "sealed in the log: \(stored)")
            #expect(try await eventCount(api.db) == 2, "the events table is still there, with both reports")

            try await api.settle()
            for (q, expected) in [("' OR '1'='1", 1), ("%", 1), ("_", 1), ("100% _under_", 1), ("' OR 1=1 --", 0), ("ordinary", 1), ("\\", 1)] {
                let query = q.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                let listed = try await api.call(.get, "/v1/incidents?q=\(query)", token: api.admin)
                #expect(listed.status == 200)
                #expect(listed["items"]?.arrayValue?.count == expected, "q=\(q) matches only what contains it")
            }
            #expect(try await api.call(.get, "/v1/incidents?municipality=%27%3B%20DROP%20TABLE%20events%3B--", token: api.admin).status == 400)
            #expect(try await api.call(.get, "/v1/events?after=%27%3B--", token: api.admin).status == 400)
        }
    }

    @Test("clients that trickle a body are cut off (408) while others are served; a slow steady one is served")
    func slowClients() async throws {
        // A stall limit of 3 s: with the whole suite running in parallel on two cores, a request
        // here takes seconds, and a 1 s limit can cut off the steady client (0.25 s a chunk).
        try await API.run(bodyStall: .seconds(3)) { api in
            let port = try #require(api.client.port)
            let body = Data(String(decoding: report().encoded(), as: UTF8.self).utf8)
            let head =
                "POST /v1/incidents HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer \(api.reporter)\r\nContent-Type: application/json\r\nContent-Length: \(body.count)\r\n\r\n"

            // Twenty tricklers: a byte every 5 s, for at most 50 s.
            let started = ContinuousClock.now
            let tricklers = (0..<20).map { _ in
                RawClient.spawn(port: port) { socket in
                    socket.send(Data(head.utf8) + body.prefix(5))
                    for byte in body.dropFirst(5).prefix(10) {
                        if let answer = socket.receive(timeout: 5) { return "cut off: " + answer }
                        socket.send(Data([byte]))
                    }
                    return "not cut off: " + (socket.receive(timeout: 30) ?? "")
                }
            }
            // Meanwhile others are served at once.
            try await Task.sleep(for: .milliseconds(300))
            let during = ContinuousClock.now
            #expect(try await api.call(.post, "/v1/incidents", token: api.reporter, json: report()).status == 201)
            #expect(try await api.call(.get, "/v1/taxonomy", token: api.analyst).status == 200)
            let servedIn = ContinuousClock.now - during

            // A slow but steady client: a byte every 0.25 s (faster than the stall limit).
            let steady = RawClient.spawn(port: port) { socket in
                socket.send(Data(head.utf8))
                for chunk in stride(from: 0, to: body.count, by: max(1, body.count / 12)) {
                    socket.send(body.subdata(in: chunk..<min(body.count, chunk + max(1, body.count / 12))))
                    Thread.sleep(forTimeInterval: 0.25)
                }
                return socket.receive(timeout: 10) ?? ""
            }

            var timedOut = 0
            for trickler in tricklers {
                let answer = await trickler.value
                if answer.hasPrefix("cut off: HTTP/1.1 408") && answer.lowercased().contains("connection: close") { timedOut += 1 }
            }
            let allDone = ContinuousClock.now - started
            let steadyAnswer = await steady.value
            print("slow clients: \(timedOut) of 20 tricklers answered 408 within \(allDone); others served in \(servedIn); steady client: \(steadyAnswer.prefix(12))")
            // Cut off while still trickling (before its 10 bytes were out), each one.
            #expect(timedOut == 20)
            #expect(steadyAnswer.hasPrefix("HTTP/1.1 201"), "\(steadyAnswer.prefix(200))")
        }
    }
}
