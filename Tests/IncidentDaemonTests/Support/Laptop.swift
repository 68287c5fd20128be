import Foundation
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

/// One laptop's ictl: its own home, config and outbox, against a daemon on `port`.
struct Laptop {
    let home: String
    let port: Int
    let token: String

    init(port: Int, token: String) throws {
        home = FileManager.default.temporaryDirectory.appendingPathComponent("ictl-laptop-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: home + "/reports", withIntermediateDirectories: true)
        (self.port, self.token) = (port, token)
    }

    var config: String { home + "/config" }
    var outbox: String { home + "/data/incident-log/outbox" }
    var environment: [String: String] {
        [
            "ICTL_SERVER": "http://127.0.0.1:\(port)", "ICTL_TOKEN": token, "HOME": home, "XDG_DATA_HOME": home + "/data", "XDG_CONFIG_HOME": config,
            "ICTL_CONFIG": "", "ICTL_OUTBOX": "",
        ]
    }

    func ictl(_ arguments: String..., offline: Bool = false) async throws -> Run {
        // Nothing listens on port 1: the laptop is off the network.
        let environment = offline ? self.environment.merging(["ICTL_SERVER": "http://127.0.0.1:1"]) { _, new in new } : self.environment
        return try await run(Binaries.ictl, arguments, environment: environment, timeout: .seconds(60))
    }

    /// The stored config as JSON.
    var stored: [String: Any]? {
        FileManager.default.contents(atPath: config + "/incident-log/ictl.json").flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
    }

    var storedKeyID: String? { (stored?["outbox_key"] as? [String: Any])?["key_id"] as? String }

    /// Writes a report file (the test's own, outside the outbox and config).
    func reportFile(_ fields: [String: Any]) throws -> String {
        let path = home + "/reports/\(UUID().uuidString).json"
        try JSONSerialization.data(withJSONObject: fields).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// `outbox list --format json`.
    func listed() async throws -> [[String: Any]] {
        let listed = try await ictl("outbox", "list", "--format", "json")
        #expect(listed.status == 0, "\(listed.stderr)")
        return (try? JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [[String: Any]]) ?? []
    }

    func remove() { try? FileManager.default.removeItem(atPath: home) }
}

func offlineReport(
    incidentID: String = UUID().uuidString.lowercased(), summary: String = "Returnee house damaged at night.", personal: [String: Any]? = nil,
    municipality: String = "Klinë"
) -> [String: Any] {
    var fields: [String: Any] = [
        "incident_id": incidentID, "category": "return_obstacle", "subcategory": "property_occupation", "occurred_at": "2026-11-27",
        "municipality": municipality, "summary": summary, "source_type": "victim",
    ]
    if let personal { fields["personal"] = personal }
    return fields
}
