import CoffreAuth
import CoffreCrypto
import CoffreDirectory
import CoffreModel
import CoffreStorage
import Foundation

/// Coffre's token service on memory storage, with one principal, made once: what tokens and assertions are checked by.
private struct AuthFixture: Sendable {
    static let audience = "https://vault.localhost"
    let clock = ManualClock()
    let service: TokenService
    let verifier: TokenVerifier
    let clientId: String
    let clientSecret: String

    static let shared: AuthFixture = {
        do { return try FuzzTarget.blocking { try await AuthFixture() } } catch { fatalError("the fuzz fixture could not be made: \(error)") }
    }()

    private init() async throws {
        let storage = MemoryStorage()
        let directory = Directory(storage: storage, clock: clock)
        let principals = directory.principals
        service = TokenService(
            tenantId: "fuzz-tenant", issuer: "https://localhost/fuzz-tenant/", audiences: [Self.audience], directory: directory,
            keyring: try await SigningKeyring(storage: storage, clock: clock), clock: clock)
        verifier = TokenVerifier(issuers: [service.trustedIssuer])
        let (principal, secret) = try await principals.create(displayName: "fuzz")
        clientId = principal.clientId
        clientSecret = secret
    }
}

/// Claims shaped as `CertificateCredential` sends them.
private struct AssertionClaims: Encodable {
    var iss: String
    var sub: String
    var aud: String
    var exp: Int64
    var nbf: Int64
    var jti = "fuzz"
}

extension FuzzTarget {
    /// Bearer tokens on every request: parsed, signature, issuer, audience and times checked.
    static let accessToken = FuzzTarget(
        "access-token",
        seeds: {
            let fixture = AuthFixture.shared
            let token = try blocking {
                try await fixture.service.clientCredentials(
                    tenant: "fuzz-tenant", clientId: fixture.clientId, clientSecret: fixture.clientSecret, scope: AuthFixture.audience + "/.default")
            }
            return [Array(token.accessToken.utf8)]
        },
        run: { bytes in
            let fixture = AuthFixture.shared
            let token = String(fuzzed: bytes)
            if let parsed = JWT.parse(token) { _ = try? parsed.claims(as: TokenClaims.self) }
            _ = try blocking { try await fixture.verifier.verify(token, resources: [AuthFixture.audience], now: fixture.clock.now) }
        })

    /// Client assertions (RFC 7523) at the token endpoint: a JWT naming a registered certificate by thumbprint.
    static let clientAssertion = FuzzTarget(
        "client-assertion",
        seeds: {
            let fixture = AuthFixture.shared
            let now = fixture.clock.now
            let claims = AssertionClaims(
                iss: fixture.clientId, sub: fixture.clientId, aud: "https://localhost/fuzz-tenant/oauth2/v2.0/token", exp: now + 600, nbf: now)
            return [Array(try JWT.sign(claims, key: .rs256(RSASigningKey.generate()), kid: "3q2-7w").utf8)]
        },
        run: { bytes in
            let fixture = AuthFixture.shared
            _ = try blocking {
                try await fixture.service.clientAssertion(
                    tenant: "fuzz-tenant", clientId: nil, assertion: String(fuzzed: bytes), scope: AuthFixture.audience + "/.default",
                    audiences: ["https://localhost/fuzz-tenant/oauth2/v2.0/token"])
            }
        })

    /// A trusted issuer's JWKS document (fetched from its `jwks_uri`).
    static let jwks = FuzzTarget(
        "jwks",
        seeds: {
            let rsa = try KeyMaterial.generate(.rsa, size: 2048).publicJWK()
            let ec = try KeyMaterial.generate(.ec, curve: .p384).publicJWK()
            let keys = [rsa, ec].map { key in
                [
                    "kty": key.kty, "kid": "k", "use": "sig", "n": key.n.map(Base64.urlEncoded), "e": key.e.map(Base64.urlEncoded),
                    "crv": key.crv, "x": key.x.map(Base64.urlEncoded), "y": key.y.map(Base64.urlEncoded),
                ].compactMapValues { $0 }
            }
            return [Array(try JSONSerialization.data(withJSONObject: ["keys": keys]))]
        },
        run: { bytes in _ = try JWKSet.parse(bytes).verificationKeys })

    /// Attestation tokens of secure key release: parsed, the issuer matched to an authority, the signature checked with
    /// the authority's published keys.
    static let attestation = FuzzTarget(
        "attestation",
        seeds: {
            let fixture = AuthFixture.shared
            let token = try blocking {
                try await fixture.service.clientCredentials(
                    tenant: "fuzz-tenant", clientId: fixture.clientId, clientSecret: fixture.clientSecret, scope: AuthFixture.audience + "/.default")
            }
            return [Array(token.accessToken.utf8)]
        },
        run: { bytes in
            let verifier = AttestationVerifier(clock: ManualClock()) { _ in Array(#"{"keys":[]}"#.utf8) }
            _ = try blocking { try await verifier.verify(String(fuzzed: bytes), authorities: ["https://localhost/fuzz-tenant"]) }
        })
}
