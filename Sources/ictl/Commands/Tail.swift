import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

struct Tail: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Print new log events as they are committed (analysts, reviewers, admins).", usage: "ictl tail [-f] [--after <checkpoint>] [--json] [<options>]",
        discussion: """
            Without -f, prints what the log holds after --after and stops. With -f, follows the live stream \
            (Server-Sent Events) and reconnects from the last checkpoint if the connection drops.

            Examples:
              ictl tail -f
              ictl tail -f --json | jq -c 'select(.type == "IncidentVerified")'
            """
    )
    @OptionGroup var connection: ConnectionOptions
    @Flag(name: .shortAndLong, help: "Follow: keep printing new events.") var follow = false
    @Option(help: "Start after this checkpoint (default: the start of the log).") var after = ""
    @Flag(help: "One JSON object per line instead of a summary line.") var json = false

    func run() async throws {
        try await runCommand {
            let client = try connection.client
            var checkpoint = after
            guard follow else {
                while true {
                    let response = try await query(client, "/v1/events?limit=1000&after=\(checkpoint)")
                    let events = response.objects("events")
                    for event in events { print(line(event)) }
                    checkpoint = response.json?["checkpoint"] as? String ?? checkpoint
                    if events.count < 1000 { return }
                }
            }
            while true {
                var request = HTTPClientRequest(url: client.url("/v1/events/stream?after=\(checkpoint)"))
                if let token = client.token { request.headers.add(name: "Authorization", value: "Bearer " + token) }
                request.headers.add(name: "Accept", value: "text/event-stream")
                do {
                    let response = try await client.http.execute(request, timeout: .hours(24 * 365))
                    guard response.status.code == 200 else {
                        let body = try await response.body.collect(upTo: 1 << 20)
                        let reply = APIResponse(status: Int(response.status.code), body: Data(body.readableBytesView))
                        throw CLIError(code: reply.exitCode, message: reply.errorMessage)
                    }
                    var pending = ""
                    var id = "", data = ""
                    for try await buffer in response.body {
                        pending += String(buffer: buffer)
                        while let newline = pending.firstIndex(of: "\n") {
                            let field = String(pending[..<newline])
                            pending = String(pending[pending.index(after: newline)...])
                            if field.isEmpty {
                                if !data.isEmpty, let event = (try? JSONSerialization.jsonObject(with: Data(data.utf8))) as? [String: Any] {
                                    // Unbuffered: each event shows up as it arrives, also in a pipe.
                                    FileHandle.standardOutput.write(Data((line(event) + "\n").utf8))
                                    checkpoint = id
                                }
                                id = ""; data = ""
                            } else if field.hasPrefix("id: ") {
                                id = String(field.dropFirst(4))
                            } else if field.hasPrefix("data: ") {
                                data += String(field.dropFirst(6))
                            }
                        }
                    }
                } catch let error as CLIError {
                    throw error
                } catch {
                    note("stream interrupted; reconnecting from \(checkpoint.isEmpty ? "the start" : checkpoint)")
                }
                try await Task.sleep(for: .seconds(2))
            }
        }
    }

    private func line(_ event: [String: Any]) -> String {
        if json {
            return String(decoding: (try? JSONSerialization.data(withJSONObject: event, options: [.sortedKeys])) ?? Data(), as: UTF8.self)
        }
        let incident = (event["stream"] as? String ?? "").replacingOccurrences(of: "incident-", with: "")
        return [Output.string(event["recorded_at"]), Output.string(event["type"]), incident, "v" + Output.string(event["stream_version"])].joined(separator: "  ")
    }
}
