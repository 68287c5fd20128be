import IncidentStore
import PostgresLibpq
import Testing

@Suite("Database transport: encrypted or local, else a warning and incident_database_tls 0")
struct ConnectionTransportTests {
    @Test(
        "TLS, a Unix socket or loopback is protected",
        arguments: [
            ConnectionTransport(host: "db.office.invalid", address: "10.1.2.3", sslInUse: true),
            ConnectionTransport(host: "10.1.2.3", address: "10.1.2.3", sslInUse: true),
            ConnectionTransport(host: "/var/run/postgresql", address: "", sslInUse: false),
            ConnectionTransport(host: "@pg", address: "", sslInUse: false),
            ConnectionTransport(host: "localhost", address: "127.0.0.1", sslInUse: false),
            ConnectionTransport(host: "localhost", address: "::1", sslInUse: false),
            ConnectionTransport(host: "127.0.0.1", address: "", sslInUse: false),
            // A tunnel: the name says elsewhere, the address connected to is this machine.
            ConnectionTransport(host: "db.office.invalid", address: "127.0.0.1", sslInUse: false),
        ])
    func protected(_ transport: ConnectionTransport) {
        #expect(transport.isProtected)
    }

    @Test(
        "plain TCP to another machine is not",
        arguments: [
            ConnectionTransport(host: "db.office.invalid", address: "10.1.2.3", sslInUse: false),
            ConnectionTransport(host: "10.1.2.3", address: "10.1.2.3", sslInUse: false),
            ConnectionTransport(host: "0.0.0.0", address: "", sslInUse: false),
            // `localhost` that resolved elsewhere is the network: the address decides.
            ConnectionTransport(host: "localhost", address: "192.168.1.20", sslInUse: false),
            ConnectionTransport(host: "", address: "", sslInUse: false),
        ])
    func exposed(_ transport: ConnectionTransport) {
        #expect(!transport.isProtected)
    }
}
