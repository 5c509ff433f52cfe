import CoffreAuth
import CoffreJSON
import CoffreModel
import CoffreStorage
import Foundation
import Testing

@Suite struct TestAttestationServiceTests {
    static let base = "https://localhost:8443/test-attestation"
    let clock = ManualClock(1_800_000_000)
    let storage = MemoryStorage()

    var service: TestAttestationService { TestAttestationService(base: Self.base, storage: storage, clock: clock) }

    /// Key release's verifier, reading the service's keys where it looks for an authority's (`{authority}/certs`).
    func verifier() -> AttestationVerifier {
        let service = self.service
        return AttestationVerifier(clock: clock) { url in
            guard service.publishesKeys(at: url) else { throw CoffreError.badParameter("unexpected fetch of \(url)") }
            return Array(try JSONEncoder().encode(try await service.jwks()))
        }
    }

    @Test func itsTokensVerifyAsFromItsURLWithTheClaimsTheSDKTestsExpect() async throws {
        let token = try await service.token()
        let parsed = try #require(JWT.parse(token))
        #expect(parsed.header.alg == "RS256" && parsed.header.jku == Self.base + "/keys")
        let (issuer, claims) = try await verifier().verify(token, authorities: [Self.base])
        #expect(issuer == Self.base)
        #expect(claims["iss"]?.string == Self.base + "/")
        #expect(claims["sdk-test"] == .bool(true))
        #expect(claims.value(at: "x-ms-runtime.keys")?.array?.first?["kid"]?.string == "fake-release-key")
        #expect(service.openIDConfiguration.jwks_uri == Self.base + "/keys")
    }

    @Test func itSatisfiesNoOtherAuthority() async throws {
        let token = try await service.token()
        await #expect(throws: CoffreError.self) { try await verifier().verify(token, authorities: ["https://attestation.example"]) }
    }

    @Test func itsKeysAreMadeOnceAndKept() async throws {
        let first = try await service.jwks().keys.map(\.n)
        _ = try await service.token()
        #expect(try await TestAttestationService(base: Self.base, storage: storage, clock: clock).jwks().keys.map(\.n) == first)
    }

    @Test func expiredTokensAreRefused() async throws {
        let token = try await service.token()
        clock.advance(seconds: 3600 + 301)
        await #expect(throws: CoffreError.self) { try await verifier().verify(token, authorities: [Self.base]) }
    }
}
