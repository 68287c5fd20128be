import Foundation
import IncidentStore
import Testing

/// A webhook receiver in a process of its own, on loopback: Python's standard library, so that
/// what checks the daemon's signatures shares no code with what makes them. It verifies each
/// request as the Standard Webhooks specification says, answers as its mode file says, and
/// writes a JSON line per request to its log.
///
/// The signing secret of each path is read from `secrets.json` in its directory, and the mode
/// from `mode`, at every request, so a test changes them while it runs:
/// - `ok`: 200 to every request whose signature holds (401 otherwise);
/// - `fail`: 500;
/// - `hang S`: no answer for S seconds (then 200, to a sender that has long given up);
/// - `slow S`: 200 after S seconds;
/// - `refuse ID...`: 500 to these webhook ids, `ok` to the others;
/// - `redirect URL`: 302 to URL.
final class WebhookReceiver: @unchecked Sendable {
    let port: Int
    let directory: String
    private var process: Process?

    /// The receiver, from the specification (https://www.standardwebhooks.com, "Verifying webhook
    /// authenticity"): the key is the base64 after `whsec_`; the signed content is
    /// `{webhook-id}.{webhook-timestamp}.{body}`; `webhook-signature` holds space-separated
    /// `v1,<base64 HMAC-SHA256>`, any of which may match; a timestamp more than 5 minutes off is
    /// refused.
    static let script = #"""
        import base64, hashlib, hmac, http.server, json, os, sys, threading, time

        port, directory = int(sys.argv[1]), sys.argv[2]
        lock = threading.Lock()

        def read(name, default):
            try:
                with open(os.path.join(directory, name)) as file:
                    return file.read()
            except FileNotFoundError:
                return default

        def verify(secret, msg_id, timestamp, body, header):
            key = base64.b64decode(secret[len("whsec_"):] if secret.startswith("whsec_") else secret)
            signed = msg_id.encode() + b"." + timestamp.encode() + b"." + body
            expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
            if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
                return False
            return any(part.startswith("v1,") and hmac.compare_digest(part[3:], expected) for part in header.split(" "))

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", "0")))
                msg_id = self.headers.get("webhook-id", "")
                timestamp = self.headers.get("webhook-timestamp", "")
                secrets = json.loads(read("secrets.json", "{}"))
                verified = self.path in secrets and verify(secrets[self.path], msg_id, timestamp, body, self.headers.get("webhook-signature", ""))
                mode = read("mode", "ok").split()
                status, wait, location = (200 if verified else 401), 0.0, None
                if mode[0] == "fail" or (mode[0] == "refuse" and msg_id in mode[1:]):
                    status = 500
                elif mode[0] in ("hang", "slow"):
                    wait = float(mode[1])
                elif mode[0] == "redirect":
                    status, location = 302, mode[1]
                try:
                    event = json.loads(body)
                except ValueError:
                    event = None
                line = {"path": self.path, "id": msg_id, "timestamp": timestamp, "verified": verified, "status": status,
                        "mode": mode[0], "body": event, "at": time.time()}
                with lock:
                    with open(os.path.join(directory, "requests.ndjson"), "a") as log:
                        log.write(json.dumps(line) + "\n")
                time.sleep(wait)
                self.send_response(status)
                if location:
                    self.send_header("location", location)
                self.send_header("content-length", "0")
                self.end_headers()

        server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        server.daemon_threads = True
        with open(os.path.join(directory, "ready"), "w") as ready:
            ready.write("ready")
        server.serve_forever()
        """#

    /// One request as the receiver logged it.
    struct Request: Sendable {
        var path: String
        var id: String
        var verified: Bool
        var status: Int
        var mode: String
        var body: JSONValue?
        /// When it arrived (Unix seconds, the receiver's clock).
        var at: Double

        /// Answered 2xx with a signature that held: what the subscriber has received.
        var accepted: Bool { verified && (200..<300).contains(status) && mode != "hang" }
        var eventID: String? { body?.objectValue?["event"]?.objectValue?["event_id"]?.stringValue }
    }

    init(port: Int = TestPorts.free()) throws {
        self.port = port
        directory = FileManager.default.temporaryDirectory.path + "/webhook-receiver-\(getpid())-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        try Self.script.write(toFile: directory + "/receiver.py", atomically: true, encoding: .utf8)
        try start()
    }

    var url: String { "http://127.0.0.1:\(port)" }

    /// Starts the process (again, after ``stop()``) and waits until it listens.
    func start() throws {
        try? FileManager.default.removeItem(atPath: directory + "/ready")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", directory + "/receiver.py", String(port), directory]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        self.process = process
        let deadline = Date() + 10
        while !FileManager.default.fileExists(atPath: directory + "/ready") {
            guard process.isRunning, Date() < deadline else {
                Issue.record("the webhook receiver did not start (python3 on port \(port))")
                return
            }
            usleep(20_000)
        }
    }

    /// Gone at once, connections and all (as a receiver that crashes or is switched off).
    func stop() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    func setMode(_ mode: String) throws { try mode.write(toFile: directory + "/mode", atomically: true, encoding: .utf8) }

    func setSecrets(_ secrets: [String: String]) throws {
        try JSONValue.object(secrets.mapValues(JSONValue.string)).encoded().write(to: URL(fileURLWithPath: directory + "/secrets.json"), options: .atomic)
    }

    /// Every request so far, in the order they arrived.
    var requests: [Request] {
        guard let data = FileManager.default.contents(atPath: directory + "/requests.ndjson") else { return [] }
        return String(decoding: data, as: UTF8.self).split(separator: "\n").compactMap { line in
            guard let object = try? JSONValue.parse(Data(line.utf8)).objectValue else { return nil }
            return Request(
                path: object["path"]?.stringValue ?? "", id: object["id"]?.stringValue ?? "", verified: object["verified"] == .bool(true),
                status: Int(object["status"]?.numberValue ?? 0), mode: object["mode"]?.stringValue ?? "", body: object["body"],
                at: object["at"]?.numberValue ?? 0)
        }
    }

    /// What `path` has received: the event ids of accepted requests, each once (by `webhook-id`,
    /// first arrival), and how many accepted requests repeated an id already received.
    func received(at path: String) -> (ids: [String], repeats: Int) {
        var seen = Set<String>()
        var ids: [String] = []
        var repeats = 0
        for request in requests where request.path == path && request.accepted {
            if seen.insert(request.id).inserted { ids.append(request.id) } else { repeats += 1 }
        }
        return (ids, repeats)
    }

    func close() {
        stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
