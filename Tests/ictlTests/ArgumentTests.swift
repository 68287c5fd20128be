import ArgumentParser
import Foundation
import Testing

@testable import ictl

/// Parsing and validation of ictl's arguments: what is refused before anything is sent.
@Suite struct ArgumentTests {
    /// The message and exit code ictl prints when `arguments` are refused; nil when they parse.
    private func refusal(_ arguments: [String]) -> (message: String, code: Int32)? {
        do {
            _ = try ICtl.parseAsRoot(arguments)
            return nil
        } catch {
            return (ICtl.message(for: error), ICtl.exitCode(for: error).rawValue)
        }
    }

    @Test func commandNamesStayAsTheyAre() {
        #expect(
            ICtl.configuration.subcommands.map { $0._commandName } == [
                "report", "import", "amend", "verify", "reject", "retract", "show", "list", "log", "tail",
                "summary", "digest", "regions", "taxonomy", "outbox", "login", "admin",
            ])
        #expect(Admin.configuration.subcommands.map { $0._commandName } == ["token", "erase", "redact", "rebuild", "audit", "subscription"])
        #expect(
            Subscription.configuration.subcommands.map { $0._commandName } == [
                "create", "list", "show", "pause", "resume", "delete", "dead-letters", "retry",
            ])
        #expect(TokenCommand.configuration.subcommands.map { $0._commandName } == ["create", "list", "revoke"])
        #expect(OutboxCommand.configuration.subcommands.map { $0._commandName } == ["list", "sync", "purge"])
    }

    @Test func importChunkSizeIsBounded() throws {
        for size in ["0", "10001"] {
            let refused = try #require(refusal(["import", "incidents.ndjson", "--chunk-size", size]))
            #expect(refused.message.contains("--chunk-size must be from 1 to 10000"))
            #expect(refused.code == Exit.usage)
        }
        let command = try #require(try ICtl.parseAsRoot(["import", "incidents.csv", "--chunk-size", "10000"]) as? Import)
        #expect(command.chunkSize == 10_000)
        #expect(command.file == "incidents.csv")
    }

    @Test func showPersonalDataNeedsAReason() throws {
        #expect(refusal(["show", "ID", "--include-personal"])?.message.contains("--include-personal needs --reason") == true)
        #expect(refusal(["show", "ID", "--reason", "a court order"])?.message.contains("--reason goes with --include-personal") == true)
        #expect(refusal(["show", "ID", "--include-personal", "--reason", "why"])?.message.contains("5 to 500 characters") == true)
        #expect(refusal(["show", "ID", "--include-personal", "--reason", "two\nlines"])?.message.contains("on one line") == true)
        let show = try #require(try ICtl.parseAsRoot(["show", "ID", "--include-personal", "--reason", "court order 12"]) as? Show)
        #expect(show.includePersonal && show.reason == "court order 12" && show.id == "ID" && !show.history)
    }

    @Test func amendNeedsChangesAsFieldEqualsValue() throws {
        #expect(refusal(["amend", "ID", "--reason", "r"])?.message.contains("give --set field=value or --changes-file") == true)
        #expect(refusal(["amend", "ID", "--reason", "r", "--set", "killed"])?.message.contains("--set takes field=value, not 'killed'") == true)
        let amend = try #require(try ICtl.parseAsRoot(["amend", "ID", "--reason", "r", "--set", "killed=2", "--set", "a=b=c", "--expected-version", "3"]) as? Amend)
        #expect(amend.sets == ["killed=2", "a=b=c"])
        #expect(amend.expectedVersion == 3)
    }

    @Test func loginTakesOneTokenSource() throws {
        let refused = try #require(refusal(["login", "--token", "t", "--token-stdin"]))
        #expect(refused.message.contains("give --token or --token-stdin, not both"))
        #expect(refused.code == Exit.usage)
        #expect(refusal(["login", "--token-stdin"]) == nil)
    }

    @Test func auditLimitIsBounded() throws {
        #expect(refusal(["admin", "audit", "--limit", "0"])?.message.contains("--limit must be from 1 to 1000") == true)
        #expect(refusal(["admin", "audit", "--limit", "1001"]) != nil)
        let audit = try #require(try ICtl.parseAsRoot(["admin", "audit", "--limit", "1000", "--all"]) as? Audit)
        #expect(audit.limit == 1000 && audit.all)
    }

    @Test func subscriptionCreateNeedsOneTarget() throws {
        let create = ["admin", "subscription", "create", "feed"]
        #expect(refusal(create)?.message.contains("give --webhook URL or --pull") == true)
        #expect(refusal(create + ["--pull", "--webhook", "https://hooks.example.org/x"])?.message.contains("not both") == true)
        #expect(refusal(create + ["--pull"])?.message.contains("--pull needs --consumer") == true)
        #expect(refusal(create + ["--webhook", "ftp://hooks.example.org/x"])?.message.contains("https:// URL") == true)
        #expect(refusal(create + ["--webhook", "https://h.example.org/x", "--consumer", "c"])?.message.contains("--consumer goes with --pull") == true)
        #expect(refusal(create + ["--pull", "--consumer", "c", "--min-killed=-1"])?.message.contains("--min-killed must be 0 or more") == true)
        #expect(refusal(create + ["--pull", "--consumer", "c", "--category", " "])?.message.contains("--category takes a value") == true)
        for name in ["Feed", "-feed", "feed/../../tokens", "feed\n", "feed\r", "", String(repeating: "a", count: 64)] {
            let refused = try #require(refusal(["admin", "subscription", "show", "--", name]))
            #expect(refused.message.contains("is not a subscription name") && refused.code == Exit.usage, "\(name)")
        }
        #expect(refusal(["admin", "subscription", "retry", "feed", "not-a-uuid"])?.message.contains("is not an event id") == true)
    }

    @Test func subscriptionCreateSendsOnlyWhatWasGiven() throws {
        let arguments = [
            "admin", "subscription", "create", "mitrovica-feed", "--pull", "--consumer", "dashboards", "--consumer", "analyst-2",
            "--district", "mitrovica", "--municipality", "Zubin Potok", "--category", "ethnic_violence", "--min-casualties", "2", "--start", "beginning",
        ]
        let create = try #require(try ICtl.parseAsRoot(arguments) as? Subscription.Create)
        let body = try #require(try JSONSerialization.jsonObject(with: create.requestBody()) as? [String: Any])
        #expect(Set(body.keys) == ["name", "filter", "target", "start", "consumers"])
        #expect(body["name"] as? String == "mitrovica-feed" && body["start"] as? String == "beginning")
        #expect(body["consumers"] as? [String] == ["dashboards", "analyst-2"])
        #expect((body["target"] as? [String: String]) == ["kind": "pull"])
        let filter = try #require(body["filter"] as? [String: Any])
        #expect(Set(filter.keys) == ["districts", "municipalities", "categories", "min_casualties"])
        #expect(filter["municipalities"] as? [String] == ["Zubin Potok"] && filter["min_casualties"] as? Int == 2)

        let webhook = ["admin", "subscription", "create", "killings", "--webhook", "https://hooks.example.org/k", "--include-confidential"]
        let hook = try #require(try ICtl.parseAsRoot(webhook) as? Subscription.Create)
        let hookBody = try #require(try JSONSerialization.jsonObject(with: hook.requestBody()) as? [String: Any])
        #expect(Set(hookBody.keys) == ["name", "filter", "target", "include_confidential"])
        #expect((hookBody["target"] as? [String: String]) == ["kind": "webhook", "url": "https://hooks.example.org/k"])
        #expect((hookBody["filter"] as? [String: Any])?.isEmpty == true)
    }

    @Test func formatsAreOnlyTheKnownOnes() throws {
        #expect(refusal(["list", "--format", "xml"]) != nil)
        #expect(refusal(["digest", "--format", "pdf"]) != nil)
        let list = try #require(try ICtl.parseAsRoot(["list", "--format", "hxl", "--municipality", "pec"]) as? List)
        #expect(list.output.format == .hxl && list.output.resolved == .hxl && list.municipality == "pec" && list.limit == 50)
        let digest = try #require(try ICtl.parseAsRoot(["digest", "--format", "html"]) as? Digest)
        #expect(digest.format == .html && digest.week == "last" && digest.output == nil)
    }

    @Test func decisionsNeedANote() throws {
        #expect(refusal(["verify", "ID"]) != nil)
        let verify = try #require(try ICtl.parseAsRoot(["verify", "ID", "--note", "checked"]) as? Verify)
        #expect(verify.decision.note == "checked" && verify.decision.id == "ID" && verify.decision.expectedVersion == nil)
    }

    @Test func plainHTTPGoesOnlyToThisMachine() throws {
        #expect(throws: Never.self) { try Client(server: "http://127.0.0.1:8080", token: nil, caFile: nil, insecure: false) }
        #expect(throws: Never.self) { try Client(server: "https://incidents.example.org", token: nil, caFile: nil, insecure: false) }
        for server in ["http://incidents.example.org", "ftp://127.0.0.1", "not a url"] {
            do {
                _ = try Client(server: server, token: nil, caFile: nil, insecure: false)
                Issue.record("\(server) was accepted")
            } catch let error as CLIError {
                #expect(error.code == Exit.usage)
            }
        }
        let accepted = try Client(server: "http://incidents.example.org", token: nil, caFile: nil, insecure: true)
        #expect(accepted.isPlainHTTPBeyondLoopback)
        #expect(accepted.url("/v1/taxonomy") == "http://incidents.example.org/v1/taxonomy")
    }
}
