import Foundation
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

@Suite("ictl at a terminal: a real pseudo-terminal 80 and 160 columns wide against a live incidentd (subprocesses)")
struct ICtlTerminalTests {
    @Test("tables fit the terminal, show and show --history hold their sections in order, NO_COLOR holds no escapes, piped output ignores the terminal")
    func atATerminal() async throws {
        try await TestDatabase.with { db in
            let admin = try await AccessTokens(pool: db.pool).create(name: "desk-officer", role: .admin)
            let desk = try Desk(port: TestPorts.free(), token: admin)
            defer { try? FileManager.default.removeItem(atPath: desk.home) }
            let daemon = try Daemon(conninfo: db.conninfo, port: desk.port)
            defer { daemon.stop() }
            try await daemon.ready()
            let id = try await desk.seeds()
            for columns in [80, 160] {
                try await desk.tablesFit(columns: columns)
                try await desk.showsSections(id, columns: columns)
            }
            try await desk.pipedOutputIgnoresTheTerminal(id)
        }
    }
}

/// A desk officer's ictl (a ``Laptop``: a home of its own) against the daemon, on a terminal or in a pipe.
private struct Desk {
    let laptop: Laptop
    var port: Int { laptop.port }
    var home: String { laptop.home }
    var env: [String: String] { laptop.environment.merging(["TERM": "xterm-256color"]) { _, new in new } }

    init(port: Int, token: String) throws { laptop = try Laptop(port: port, token: token) }

    func ictl(_ arguments: [String], _ extra: [String: String] = [:]) async throws -> Run {
        try await run(Binaries.ictl, arguments, environment: env.merging(extra) { _, new in new })
    }

    func terminal(_ columns: Int, _ arguments: [String], _ extra: [String: String] = [:]) async throws -> Run {
        try await inTerminal(columns: columns, Binaries.ictl, arguments, environment: env.merging(extra) { _, new in new })
    }

    /// Reports with long summaries and unrounded coordinates, an amendment and a decision; returns the amended incident's id.
    func seeds() async throws -> String {
        let long = "Gravestones in the Orthodox cemetery were damaged during the night; the police found the gate forced open and tools left behind."
        var id = ""
        for (index, municipality) in ["Zubin Potok", "Prizren", "Gjilan", "Mitrovicë e Veriut"].enumerated() {
            let reported = try await ictl([
                "report", "--category", "ethnic_violence", "--subcategory", "religious_cultural_site", "--occurred-at", "2026-11-2\(index)",
                "--municipality", municipality, "--source-type", "witness", "--summary", long, "--lat", "42.88390000000003", "--lon", "20.866666666",
                "--place", "Orthodox cemetery", "--community", "serb", "--tag", "night",
            ])
            #expect(reported.status == 0, "\(reported.stderr)")
            if index == 0 { id = reported.stdout.trimmingCharacters(in: .whitespacesAndNewlines) }
        }
        #expect(try await ictl(["amend", id, "--expected-version", "1", "--set", "injured=2", "--reason", "hospital report"]).status == 0)
        #expect(try await ictl(["verify", id, "--expected-version", "2", "--note", "confirmed by the police"]).status == 0)
        for _ in 0..<100 where !(try await ictl(["list", "--status", "verified", "--format", "csv"]).stdout.contains(id)) {
            try await Task.sleep(for: .milliseconds(50))
        }
        return id
    }

    /// No line of a table is wider than the terminal; colour by default, none with NO_COLOR=1.
    func tablesFit(columns: Int) async throws {
        let commands = [["list"], ["summary", "--level", "municipality"], ["regions"], ["taxonomy"], ["outbox", "list"], ["admin", "token", "list"]]
        for command in commands {
            let shown = try await terminal(columns, command)
            #expect(shown.status == 0, "\(command): \(shown.stdout)")
            let lines = withoutEscapes(shown.stdout).split(separator: "\n")
            #expect(lines.count >= 1, "\(command) printed a table")
            for line in lines { #expect(line.count <= columns, "\(command) at \(columns) columns: \(line)") }
            #expect(shown.stdout.contains("\u{1B}["), "\(command) has colour or emphasis on a terminal")
            let plain = try await terminal(columns, command, ["NO_COLOR": "1"])
            #expect(plain.status == 0 && !plain.stdout.contains("\u{1B}"), "\(command) with NO_COLOR=1: \(plain.stdout)")
            #expect(plain.stdout == withoutEscapes(shown.stdout), "\(command): colour is the only difference")
        }
        let list = withoutEscapes(try await terminal(columns, ["list"]).stdout)
        #expect(list.contains("…"), "the summary is truncated to fit \(columns) columns")
        let wide = try await terminal(columns, ["list", "--wide", "--color", "never"])
        #expect(wide.stdout.contains("VERSION") && wide.stdout.contains("XK-MIT-07 Zubin Potok"))
    }

    /// `show` and `show --history`: the header, then the sections in their order, names beside codes, readable numbers.
    func showsSections(_ id: String, columns: Int) async throws {
        let order = ["What", "Where", "When", "Who and how many", "Source", "Sensitivity", "Tags"]
        for history in [false, true] {
            let shown = try await terminal(columns, ["show", id] + (history ? ["--history"] : []), ["NO_COLOR": "1"])
            #expect(shown.status == 0 && !shown.stdout.contains("\u{1B}"), "\(shown.stdout)")
            let lines = shown.stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            #expect(lines.first?.hasPrefix("Inter-ethnic violence / Attack on a religious or cultural site") == true, "\(lines)")
            #expect(lines.prefix(2).joined(separator: " ").contains("verified  version 3"), "the header holds status and version")
            for line in lines { #expect(line.count <= columns, "show at \(columns) columns: \(line)") }
            let positions = (order + (history ? ["History"] : [])).map { lines.firstIndex(of: $0) ?? -1 }
            #expect(!positions.contains(-1) && positions == positions.sorted(), "sections in order: \(shown.stdout)")
            for expected in ["Zubin Potok (XK-MIT-07)", "(XK-MIT)", "42.8839 N, 20.866667 E", "Orthodox cemetery", "injured 2", "serb", "night", "witness"] {
                #expect(shown.stdout.contains(expected), "show names \(expected): \(shown.stdout)")
            }
            #expect(history == shown.stdout.contains("injured: 0 → 2"))
            #expect(history == (shown.stdout.contains("reason: hospital report") && shown.stdout.contains("note: confirmed by the police")))
        }
    }

    /// JSON, CSV and HXL in a pipe are the same whatever the terminal's width or the colour asked for; JSON in the conventional layout.
    func pipedOutputIgnoresTheTerminal(_ id: String) async throws {
        for command in [["list"], ["summary"], ["regions"], ["taxonomy"], ["show", id, "--history"]] {
            for format in ["json", "csv", "hxl"] {
                let plain = try await ictl(command + ["--format", format])
                #expect(plain.status == 0 && !plain.stdout.contains("\u{1B}"))
                for extra in [["COLUMNS": "40"], ["COLUMNS": "300", "NO_COLOR": "1"]] {
                    #expect(try await ictl(command + ["--format", format, "--wide"], extra).stdout == plain.stdout, "\(command) \(format) \(extra)")
                }
            }
            let json = try await ictl(command)
            #expect(json.stdout.contains("\": ") && !json.stdout.contains("\" : ") && !json.stdout.contains("[\n\n"), "\(json.stdout.prefix(400))")
            let file = home + "/piped.json"
            try Data(json.stdout.utf8).write(to: URL(fileURLWithPath: file))
            let relayout = "import json,sys; print(json.dumps(json.load(open(sys.argv[1])), indent=2, sort_keys=True, ensure_ascii=False))"
            let relaid = try await run("/usr/bin/env", ["python3", "-c", relayout, file], environment: [:])
            #expect(relaid.stdout == json.stdout, "the conventional layout, keys sorted: \(command)")
        }
    }
}
