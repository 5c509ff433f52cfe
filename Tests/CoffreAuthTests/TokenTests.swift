import CoffreAuth
import CoffreCrypto
import CoffreModel
import CoffreStorage
import Testing

/// A token service over in-memory storage, with a clock the test controls.
struct TokenFixture {
    let clock = ManualClock()
    let storage = MemoryStorage()
    let principals: PrincipalDirectory
    let service: TokenService
    let verifier: TokenVerifier
    static let audience = "https://vault.localhost:8443"

    init() async throws {
        principals = PrincipalDirectory(storage: storage, clock: clock)
        let keys = try await SigningKeyStore(storage: storage).load(now: clock.now)
        service = try TokenService(
            tenantId: "11111111-2222-3333-4444-555555555555", issuer: "https://localhost:8443/11111111-2222-3333-4444-555555555555/v2.0",
            audiences: [Self.audience], principals: principals, signingKey: keys[0], clock: clock)
        verifier = TokenVerifier(issuers: [
            TrustedIssuer(issuer: service.issuer, keys: [keys[0].kid: try RSASigningKey(derRepresentation: keys[0].privateKeyDER).publicKey])
        ])
    }
}

@Suite struct TokenTests {
    @Test func clientCredentialsIssueAVerifiableToken() async throws {
        let fixture = try await TokenFixture()
        let (principal, secret) = try await fixture.principals.create(displayName: "app")
        let token = try await fixture.service.clientCredentials(
            tenant: fixture.service.tenantId, clientId: principal.clientId, clientSecret: secret, scope: TokenFixture.audience + "/.default")
        #expect(token.expiresIn == 3600)
        let caller = try fixture.verifier.verify(token.accessToken, audiences: [TokenFixture.audience], now: fixture.clock.now)
        #expect(caller.objectId == principal.objectId)
        #expect(caller.appId == principal.clientId)
        #expect(caller.tenantId == fixture.service.tenantId)
    }

    @Test func wrongSecretUnknownClientWrongTenantAndUnknownScopeAreRefused() async throws {
        let fixture = try await TokenFixture()
        let (principal, secret) = try await fixture.principals.create(displayName: "app")
        let scope = TokenFixture.audience + "/.default"
        await #expect(throws: OAuthError.self) {
            try await fixture.service.clientCredentials(tenant: fixture.service.tenantId, clientId: principal.clientId, clientSecret: secret + "x", scope: scope)
        }
        await #expect(throws: OAuthError.self) {
            try await fixture.service.clientCredentials(tenant: fixture.service.tenantId, clientId: "nobody", clientSecret: secret, scope: scope)
        }
        await #expect(throws: OAuthError.self) {
            try await fixture.service.clientCredentials(
                tenant: "99999999-2222-3333-4444-555555555555", clientId: principal.clientId, clientSecret: secret, scope: scope)
        }
        await #expect(throws: OAuthError.self) {
            try await fixture.service.clientCredentials(
                tenant: fixture.service.tenantId, clientId: principal.clientId, clientSecret: secret, scope: "https://graph.microsoft.com/.default")
        }
    }

    @Test func verifierChecksExpiryAudienceIssuerAndSignature() async throws {
        let fixture = try await TokenFixture()
        let (principal, _) = try await fixture.principals.create(displayName: "app")
        let token = try fixture.service.managedIdentity(for: principal, resource: TokenFixture.audience).accessToken
        let now = fixture.clock.now

        #expect(throws: CoffreError.self) { try fixture.verifier.verify(token, audiences: ["https://other:8443"], now: now) }
        #expect(throws: CoffreError.self) { try fixture.verifier.verify(token, audiences: [TokenFixture.audience], now: now + 3600 + 301) }
        #expect(throws: CoffreError.self) { try fixture.verifier.verify(token, audiences: [TokenFixture.audience], now: now - 301) }

        // A token signed by another key, or altered, is refused.
        let stranger = try RSASigningKey.generate()
        let claims = TokenClaims(
            aud: TokenFixture.audience, iss: fixture.service.issuer, iat: now, nbf: now, exp: now + 60, sub: "x", oid: "x",
            tid: fixture.service.tenantId, appid: "x", appidacr: "1", uti: nil)
        let kid = try #require(JWT.parse(token)?.header.kid)
        let forged = try JWT.sign(claims, key: stranger, kid: kid)
        #expect(throws: CoffreError.self) { try fixture.verifier.verify(forged, audiences: [TokenFixture.audience], now: now) }
        var parts = token.split(separator: ".").map(String.init)
        parts[1] = Base64.urlEncoded(Array(#"{"aud":"https://vault.localhost:8443","oid":"admin"}"#.utf8))
        #expect(throws: CoffreError.self) { try fixture.verifier.verify(parts.joined(separator: "."), audiences: [TokenFixture.audience], now: now) }
        #expect(throws: CoffreError.self) { try fixture.verifier.verify("not-a-token", audiences: [TokenFixture.audience], now: now) }

        // An untrusted issuer is refused even with a valid signature.
        var foreign = claims
        foreign.iss = "https://evil.example/tenant/v2.0"
        #expect(throws: CoffreError.self) {
            try fixture.verifier.verify(try JWT.sign(foreign, key: stranger, kid: kid), audiences: [TokenFixture.audience], now: now)
        }
        // The genuine token still passes.
        #expect(try fixture.verifier.verify(token, audiences: [TokenFixture.audience], now: now).objectId == principal.objectId)
    }

    @Test func unsignedTokensAreRefused() async throws {
        let fixture = try await TokenFixture()
        let header = Base64.urlEncoded(Array(#"{"alg":"none","typ":"JWT"}"#.utf8))
        let payload = Base64.urlEncoded(
            Array(#"{"aud":"https://vault.localhost:8443","iss":"\#(fixture.service.issuer)","iat":0,"nbf":0,"exp":9999999999,"sub":"a","oid":"a","tid":"t"}"#.utf8))
        #expect(throws: CoffreError.self) {
            try fixture.verifier.verify(header + "." + payload + ".", audiences: [TokenFixture.audience], now: fixture.clock.now)
        }
    }
}

@Suite struct PrincipalTests {
    @Test func secretsAreStoredOnlyAsSaltedHashes() async throws {
        let storage = MemoryStorage()
        let principals = PrincipalDirectory(storage: storage, clock: ManualClock())
        let (principal, secret) = try await principals.create(displayName: "app")
        let stored = try #require(try await storage.get("sys/principals/\(principal.clientId)"))
        #expect(!String(decoding: stored, as: UTF8.self).contains(secret))
        #expect(principal.accepts(secret: secret, at: 0))
        #expect(!principal.accepts(secret: String(secret.dropLast()), at: 0))
    }

    @Test func rotationKeepsBothSecretsAndDeleteRemoves() async throws {
        let principals = PrincipalDirectory(storage: MemoryStorage(), clock: ManualClock())
        let (principal, first) = try await principals.create(displayName: "app")
        let (updated, second) = try await principals.addSecret(to: "app")
        #expect(updated.accepts(secret: first, at: 0) && updated.accepts(secret: second, at: 0))
        #expect(try await principals.find(principal.objectId).clientId == principal.clientId)
        _ = try await principals.delete(principal.clientId)
        await #expect(throws: CoffreError.principalNotFound("app")) { try await principals.find("app") }
    }
}
