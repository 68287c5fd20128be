import Foundation
import IncidentStore
import IncidentTesting
import PostgresLibpq
import Testing

/// A field office's own certificate authority and a server certificate it signed for `localhost`
/// (not for 127.0.0.1, so that address checks that ictl verifies the name),
/// made with openssl in a temporary directory.
struct TestCertificates {
    let directory: String
    var authority: String { directory + "/ca.pem" }
    var certificate: String { directory + "/server.pem" }
    var key: String { directory + "/server.key" }
    /// Another authority, which signed nothing the server has.
    var stranger: String { directory + "/other-ca.pem" }

    static func make() async throws -> TestCertificates {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("incident-tls-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let certificates = TestCertificates(directory: directory)
        func openssl(_ arguments: String...) async throws {
            let result = try await run("/usr/bin/openssl", arguments, environment: [:])
            guard result.status == 0 else { throw TLSSetupFailed(message: "openssl \(arguments.first ?? ""): \(result.stderr)") }
        }
        for name in ["ca", "other-ca"] {
            try await openssl(
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=Field office test CA \(name)",
                "-keyout", directory + "/\(name).key", "-out", directory + "/\(name).pem")
        }
        try await openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=incidentd test", "-keyout", certificates.key, "-out", directory + "/server.csr")
        try Data("subjectAltName=DNS:localhost\n".utf8).write(to: URL(fileURLWithPath: directory + "/san.ext"))
        try await openssl(
            "x509", "-req", "-in", directory + "/server.csr", "-CA", certificates.authority, "-CAkey", directory + "/ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", directory + "/san.ext", "-out", certificates.certificate)
        return certificates
    }

    func remove() { try? FileManager.default.removeItem(atPath: directory) }
}

struct TLSSetupFailed: Error { var message: String }
