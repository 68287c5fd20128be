import IncidentTransport
import Testing

@Suite("Loopback: which hosts are this machine")
struct LoopbackTests {
    @Test(
        "loopback names and addresses",
        arguments: [
            "localhost", "LocalHost", "127.0.0.1", "127.0.0.53", "127.255.255.254", "::1", "[::1]", "0:0:0:0:0:0:0:1",
            "::ffff:127.0.0.1", "[::ffff:127.1.2.3]",
        ])
    func loopback(_ host: String) {
        #expect(Loopback.contains(host))
    }

    @Test(
        "every interface, other machines and lookalikes are not loopback",
        arguments: [
            "0.0.0.0", "::", "[::]", "", "10.0.0.1", "192.168.1.20", "128.0.0.1", "::2", "fe80::1", "::ffff:10.0.0.1",
            "office.invalid", "127.0.0.1.office.invalid", "127.evil.invalid", "localhost.office.invalid", "localhost.",
            "127.1", "0x7f000001", "2130706433", " 127.0.0.1", "127.0.0.1 ", "[127.0.0.1]", "[localhost]", "[", "::1%lo",
        ])
    func notLoopback(_ host: String) {
        #expect(!Loopback.contains(host))
    }
}
