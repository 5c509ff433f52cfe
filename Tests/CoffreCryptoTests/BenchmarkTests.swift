import CoffreCrypto
import Crypto
import Foundation
import Testing
import _CryptoExtras

/// Rough timings against swift-crypto doing the same work (debug builds: compare ratios, not absolute numbers).
/// Off by default: `COFFRE_BENCH=1 swift test --filter BenchmarkTests`.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["COFFRE_BENCH"] != nil, "set COFFRE_BENCH=1"))
struct BenchmarkTests {
    private static func measure(_ label: String, iterations: Int, _ body: () throws -> Void) rethrows -> Double {
        let start = ContinuousClock.now
        for _ in 0..<iterations { try body() }
        let elapsed = ContinuousClock.now - start
        let perOperation =
            Double(elapsed.components.attoseconds) / 1e12 / Double(iterations)
            + Double(elapsed.components.seconds) * 1e6 / Double(iterations)
        print("\(label): \(String(format: "%.1f", perOperation)) µs/op")
        return perOperation
    }

    @Test func rsaPrivateOperations() throws {
        let key = SharedKeys.rsa2048
        let theirs = try _RSA.Signing.PrivateKey(derRepresentation: try key.pkcs8DER)
        let theirDecryptor = try _RSA.Encryption.PrivateKey(derRepresentation: try key.pkcs8DER)
        let message = Array("benchmark".utf8)
        let digest = Array(SHA256.hash(data: message))
        let ours = try Self.measure("RS256 sign, Coffre (OpenSSL)", iterations: 300) { _ = try key.sign("RS256", digest: digest) }
        let reference = try Self.measure("RS256 sign, swift-crypto", iterations: 300) {
            _ = try theirs.signature(for: SHA256.hash(data: message), padding: .insecurePKCS1v1_5)
        }
        let ciphertext = try key.wrapKey("RSA-OAEP-256", key: [UInt8](repeating: 1, count: 32))
        _ = try Self.measure("RSA-OAEP-256 unwrap, Coffre", iterations: 300) { _ = try key.unwrapKey("RSA-OAEP-256", wrappedKey: ciphertext) }
        _ = try Self.measure("RSA-OAEP-256 decrypt, swift-crypto", iterations: 300) {
            _ = try theirDecryptor.decrypt(ciphertext, padding: .PKCS1_OAEP_SHA256)
        }
        #expect(ours < reference * 2, "RSA signing should not be much slower than swift-crypto")
    }

    @Test func ecAndSymmetric() throws {
        for curve in CurveName.allCases {
            let key = try #require(SharedKeys.ec[curve])
            let digest = ClientDigest.of([1], algorithm: curve.signatureAlgorithm)
            let signature = try key.sign(curve.signatureAlgorithm, digest: digest)
            _ = try Self.measure("\(curve.signatureAlgorithm) sign", iterations: 300) { _ = try key.sign(curve.signatureAlgorithm, digest: digest) }
            _ = try Self.measure("\(curve.signatureAlgorithm) verify", iterations: 300) {
                _ = try key.verify(curve.signatureAlgorithm, digest: digest, signature: signature)
            }
        }
        let oct = try #require(SharedKeys.oct[256])
        let payload = [UInt8](repeating: 0, count: 1024)
        _ = try Self.measure("A256GCM encrypt 1 KiB", iterations: 2000) {
            _ = try oct.encrypt("A256GCM", plaintext: payload, iv: nil, additionalData: nil)
        }
        _ = try Self.measure("A256KW wrap 32 bytes", iterations: 2000) { _ = try oct.wrapKey("A256KW", key: Array(payload.prefix(32))) }
        _ = try Self.measure("storage round trip RSA", iterations: 100) {
            _ = try KeyMaterial(storedRepresentation: SharedKeys.rsa2048.storedRepresentation)
        }
    }
}
