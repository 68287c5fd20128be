import Crypto
import Foundation
import PostgresLibpq
import Testing

@testable import IncidentStore

@Suite("Key derivation and hex")
struct KeyDerivationTests {
    @Test("derives exactly what HKDF-SHA256 without salt derives", arguments: ["incident-log/v1/seal", "incident-log/v1/nonce", "", "x"])
    func matchesHKDF(_ info: String) {
        for _ in 0..<20 {
            let key = SymmetricKey(size: .bits256)
            let ours = KeyDerivation.derive(from: key, info: info).withUnsafeBytes { Data($0) }
            let reference = HKDF<SHA256>.deriveKey(inputKeyMaterial: key, info: Data(info.utf8), outputByteCount: 32).withUnsafeBytes { Data($0) }
            #expect(ours == reference)
        }
        #expect(
            KeyDerivation.derive(from: SymmetricKey(data: Data(count: 32)), info: "a").withUnsafeBytes { Data($0) }
                != KeyDerivation.derive(from: SymmetricKey(data: Data(count: 32)), info: "b").withUnsafeBytes { Data($0) })
    }

    @Test("hex reads back what it wrote, in either case")
    func hexRoundTrip() {
        let bytes = Data((0..<256).map { UInt8($0) })
        #expect(Data(hex: bytes.hexString) == bytes)
        #expect(Data(hex: bytes.hexString.uppercased()) == bytes)
        #expect(Data(hex: "") == Data())
    }
}
