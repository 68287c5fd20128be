import Foundation
import Testing

@testable import IncidentDaemon

@Suite("Webhook signatures, addresses and backoff")
struct WebhookUnitTests {
    @Test("the signature of the Standard Webhooks specification's example")
    func specificationVector() throws {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
        let key = try #require(Data(base64Encoded: String(secret.dropFirst("whsec_".count))))
        let signature = WebhookSender.signature(
            id: "msg_p5jXN8AQM9LWM0D4loKWxJek", timestamp: 1_614_265_330, body: Data(#"{"test": 2432232314}"#.utf8), key: key)
        #expect(signature == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    }

    @Test(
        "loopback, private, link-local, unspecified and mapped addresses are not public",
        arguments: [
            "127.0.0.1", "127.8.9.10", "10.0.0.1", "172.16.0.1", "172.31.255.254", "192.168.0.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "255.255.255.255",
            "224.0.0.1", "::", "::1", "fe80::1", "fc00::1", "fd12:3456::1", "::ffff:10.1.2.3", "::ffff:127.0.0.1", "ff02::1",
        ])
    func notPublic(address: String) throws {
        #expect(try #require(IPAddress(address)).isPublic == false)
    }

    @Test("public addresses are", arguments: ["8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "2a00:1450:4001::200e", "::ffff:8.8.8.8"])
    func isPublic(address: String) throws {
        #expect(try #require(IPAddress(address)).isPublic)
    }

    @Test("the wait between tries doubles from the minimum up to the maximum, with jitter between half and all of it")
    func backoff() {
        for (attempts, full) in [(1, 1.0), (2, 2.0), (5, 16.0), (10, 512.0), (11, 600.0), (12, 600.0)] {
            for _ in 0..<50 {
                let wait = SubscriptionDispatcher.backoff(attempts, from: .seconds(1), upTo: .seconds(600))
                #expect(wait >= full / 2 && wait <= full, "try \(attempts + 1): \(wait) s")
            }
        }
    }
}
