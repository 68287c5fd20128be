import ArgumentParser
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
        #expect(Admin.configuration.subcommands.map { $0._commandName } == ["token", "erase", "redact", "rebuild", "audit"])
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
