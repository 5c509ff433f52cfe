import CoffreCrypto
import CoffreSoftHSMTestSupport
import Foundation
import Testing

@testable import CoffreKeyCustody

/// The per-call cost of signing through the PKCS#11 module (SoftHSM2) against the same signature in software, one call
/// at a time (debug builds: compare the two, not absolute numbers). Off by default:
/// `COFFRE_BENCH=1 swift test --filter CustodyBenchmarkTests`.
@Suite(
    .enabled(if: ProcessInfo.processInfo.environment["COFFRE_BENCH"] != nil, "set COFFRE_BENCH=1"),
    .softHSM([.init("bench")]), .serialized)
struct CustodyBenchmarkTests {
    private static func measure(_ label: String, iterations: Int, _ body: () async throws -> Void) async rethrows -> Double {
        for _ in 0..<iterations / 10 { try await body() }
        let start = ContinuousClock.now
        for _ in 0..<iterations { try await body() }
        let elapsed = ContinuousClock.now - start
        let microseconds = (Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12) / Double(iterations)
        print("\(label): \(String(format: "%.1f", microseconds)) µs/call")
        return microseconds
    }

    @Test(arguments: [("RS256", KeySpec(type: .rsaHSM)), ("ES256", KeySpec(type: .ecHSM))])
    func signThroughTheModuleAndInSoftware(algorithm: String, spec: KeySpec) async throws {
        let token = try await SoftHSM.requireCurrent().custody("bench")
        let software = SoftwareCustody()
        let tokenKey = try await token.generate(spec, policy: KeyPolicy(), label: "bench")
        let softwareKey = try await software.generate(spec, policy: KeyPolicy(), label: "bench")
        let digest = Digest.sha256(Array("benchmark".utf8))
        let iterations = 3000
        let module = try await Self.measure("\(algorithm) through PKCS#11 (SoftHSM2)", iterations: iterations) {
            _ = try await token.sign(tokenKey, algorithm: algorithm, digest: digest)
        }
        let inSoftware = try await Self.measure("\(algorithm) in software", iterations: iterations) {
            _ = try await software.sign(softwareKey, algorithm: algorithm, digest: digest)
        }
        let roundTrip = try await Self.measure("a pooled session, one C_GetSessionInfo, off the cooperative pool", iterations: iterations) {
            _ = try await token.withSession { try $0.isUserLoggedIn }
        }
        print("\(algorithm): Coffre's side of a module call \(String(format: "%.1f", roundTrip)) µs")
        print(
            "\(algorithm): module/software = \(String(format: "%.2f", module / inSoftware)), difference \(String(format: "%.1f", module - inSoftware)) µs/call"
        )
    }
}
