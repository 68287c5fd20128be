import Foundation
import IncidentAPI
import NIOCore
import NIOHTTP1

extension Client {
    /// Asks the server for its outbox key.
    /// - Throws: ``Unreachable``, or ``CLIError`` when the answer is not a key ictl can seal to.
    func fetchOutboxKey() async throws -> OutboxKey {
        let response = try await exchange(.GET, "/v1/outbox-key", timeout: .seconds(10))
        guard response.status == 200 else { throw CLIError(code: response.exitCode, message: "the server gave no outbox key: \(response.errorMessage)") }
        guard let key = response.json.flatMap({ OutboxKey(answer: $0) }) else {
            throw CLIError(code: Exit.other, message: "the server's outbox key is not one ictl can seal to (suite \(OutboxEnvelopeFormat.suite))")
        }
        return key
    }

    /// Keeps the stored outbox key current at no cost: every successful answer names the server's
    /// current key (`Outbox-Key-Id`), and only when it is not the one stored is the key fetched.
    /// Only a config that `ictl login` wrote is updated; failures are silent (the next success
    /// tries again).
    func refreshOutboxKey(after response: APIResponse) async {
        // Only the logged-in server's key: an answer from a server given by --server or
        // ICTL_SERVER must not re-point the laptop's outbox to it.
        guard (200..<300).contains(response.status), let named = response.outboxKeyID,
            var config = StoredConfig.load(), config.server.map(Self.sameServer(server)) == true
        else { return }
        if config.outboxKey?.keyID == named { return }
        guard let key = try? await fetchOutboxKey() else { return }
        config = StoredConfig.load() ?? config
        config.outboxKey = key
        try? config.save()
    }

    /// Two spellings of one server URL (a trailing slash, the scheme's and host's case).
    static func sameServer(_ a: String) -> (String) -> Bool {
        { b in
            let normal = { (url: String) in url.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "/")) }
            return normal(a) == normal(b)
        }
    }

    /// The stored outbox key, nil when ictl never logged in while online.
    var storedOutboxKey: OutboxKey? { StoredConfig.load()?.outboxKey }
}
