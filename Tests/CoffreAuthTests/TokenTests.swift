import CoffreAuth
import CoffreCrypto
import CoffreDirectory
import CoffreModel
import CoffreStorage
import Crypto
import Foundation
import SwiftASN1
import Testing
import X509
import _CryptoExtras

/// A token service over in-memory storage, with a clock the test controls.
struct TokenFixture {
    let clock = ManualClock(Int64(Date().timeIntervalSince1970))
    let storage = MemoryStorage()
    let directory: Directory
    let service: TokenService
    let verifier: TokenVerifier
    static let audience = "https://vault.localhost:8443"
    static let tenant = "11111111-2222-3333-4444-555555555555"
    static let tokenEndpoint = "https://localhost:8443/\(tenant)/oauth2/v2.0/token"

    init(external: [TrustedIssuer] = [], algorithm: String = "RS256") async throws {
        directory = Directory(storage: storage, clock: clock)
        service = TokenService(
            tenantId: Self.tenant, issuer: "https://localhost:8443/\(Self.tenant)/v2.0", audiences: [Self.audience],
            directory: directory, keyring: try await SigningKeyring(storage: storage, clock: clock, algorithm: algorithm), clock: clock)
        verifier = TokenVerifier(issuers: [service.trustedIssuer] + external)
    }

    var principals: PrincipalDirectory { directory.principals }

    func verify(_ token: String, audience: String = audience, at time: Int64? = nil) async throws -> Caller {
        try await verifier.verify(token, resources: [audience], now: time ?? clock.now)
    }
}

@Suite struct TokenTests {
    @Test func clientCredentialsIssueAVerifiableToken() async throws {
        let fixture = try await TokenFixture()
        let (principal, secret) = try await fixture.principals.create(displayName: "app")
        let token = try await fixture.service.clientCredentials(
            tenant: TokenFixture.tenant, clientId: principal.clientId, clientSecret: secret, scope: TokenFixture.audience + "/.default")
        #expect(token.expiresIn == 3600)
        let caller = try await fixture.verify(token.accessToken)
        #expect(caller.objectId == principal.objectId)
        #expect(caller.appId == principal.clientId)
        #expect(caller.tenantId == TokenFixture.tenant)
        // The v1 form (`resource=`) and the adfs tenant alias work too.
        _ = try await fixture.service.clientCredentials(
            tenant: "adfs", clientId: principal.clientId, clientSecret: secret, scope: TokenFixture.audience)
    }

    @Test func ephemeralServersSignWithES256AndVerifyTheirTokens() async throws {
        let fixture = try await TokenFixture(algorithm: "ES256")
        let (principal, secret) = try await fixture.principals.create(displayName: "app")
        let token = try await fixture.service.clientCredentials(
            tenant: TokenFixture.tenant, clientId: principal.clientId, clientSecret: secret, scope: TokenFixture.audience + "/.default")
        #expect(JWT.parse(token.accessToken)?.header.alg == "ES256")
        #expect(try await fixture.verify(token.accessToken).objectId == principal.objectId)
        let published = try #require(try fixture.service.keyring.jwks().keys.first)
        #expect(published.kty == "EC" && published.crv == "P-256" && published.alg == "ES256" && published.n == nil)
        // A rotation keeps the algorithm, and the old key still verifies.
        try await fixture.service.keyring.rotate()
        #expect(try await fixture.verify(token.accessToken).objectId == principal.objectId)
        #expect(try fixture.service.keyring.jwks().keys.map(\.kty) == ["EC", "EC"])
    }

    @Test func wrongSecretUnknownClientWrongTenantAndUnknownScopeAreRefused() async throws {
        let fixture = try await TokenFixture()
        let (principal, secret) = try await fixture.principals.create(displayName: "app")
        let scope = TokenFixture.audience + "/.default"
        let tenant = TokenFixture.tenant
        await #expect(throws: OAuthError.self) {
            try await fixture.service.clientCredentials(tenant: tenant, clientId: principal.clientId, clientSecret: secret + "x", scope: scope)
        }
        await #expect(throws: OAuthError.self) {
            try await fixture.service.clientCredentials(tenant: tenant, clientId: "nobody", clientSecret: secret, scope: scope)
        }
        await #expect(throws: OAuthError.self) {
            try await fixture.service.clientCredentials(
                tenant: "99999999-2222-3333-4444-555555555555", clientId: principal.clientId, clientSecret: secret, scope: scope)
        }
        await #expect(throws: OAuthError.self) {
            try await fixture.service.clientCredentials(
                tenant: tenant, clientId: principal.clientId, clientSecret: secret, scope: "https://graph.microsoft.com/.default")
        }
    }

    @Test func verifierChecksExpiryAudienceIssuerAndSignature() async throws {
        let fixture = try await TokenFixture()
        let (principal, _) = try await fixture.principals.create(displayName: "app")
        let token = try await fixture.service.managedIdentity(for: principal, resource: TokenFixture.audience).accessToken
        let now = fixture.clock.now

        await #expect(throws: CoffreError.self) { try await fixture.verify(token, audience: "https://other:8443") }
        await #expect(throws: CoffreError.self) { try await fixture.verify(token, at: now + 3600 + 301) }
        await #expect(throws: CoffreError.self) { try await fixture.verify(token, at: now - 301) }

        // A token signed by another key, or altered, is refused.
        let stranger = try RSASigningKey.generate()
        let claims = TokenClaims(
            aud: TokenFixture.audience, iss: fixture.service.issuer, iat: now, nbf: now, exp: now + 60, sub: "x", oid: "x",
            tid: TokenFixture.tenant, appid: "x", appidacr: "1", uti: nil)
        let kid = try #require(JWT.parse(token)?.header.kid)
        let forged = try JWT.sign(claims, key: .rs256(stranger), kid: kid)
        await #expect(throws: CoffreError.self) { try await fixture.verify(forged) }
        var parts = token.split(separator: ".").map(String.init)
        parts[1] = Base64.urlEncoded(Array(#"{"aud":"https://vault.localhost:8443","oid":"admin"}"#.utf8))
        await #expect(throws: CoffreError.self) { try await fixture.verify(parts.joined(separator: ".")) }
        await #expect(throws: CoffreError.self) { try await fixture.verify("not-a-token") }

        // An untrusted issuer is refused even with a valid signature.
        var foreign = claims
        foreign.iss = "https://evil.example/tenant/v2.0"
        let foreignToken = try JWT.sign(foreign, key: .rs256(stranger), kid: kid)
        await #expect(throws: CoffreError.self) { try await fixture.verify(foreignToken) }
        #expect(try await fixture.verify(token).objectId == principal.objectId)
    }

    @Test func unsignedTokensAreRefused() async throws {
        let fixture = try await TokenFixture()
        let header = Base64.urlEncoded(Array(#"{"alg":"none","typ":"JWT","kid":"x"}"#.utf8))
        let payload = Base64.urlEncoded(
            Array(#"{"aud":"https://vault.localhost:8443","iss":"\#(fixture.service.issuer)","exp":9999999999,"sub":"a","oid":"a","tid":"t"}"#.utf8))
        await #expect(throws: CoffreError.self) { try await fixture.verify(header + "." + payload + ".") }
    }

    @Test func rotationKeepsOldTokensValid() async throws {
        let fixture = try await TokenFixture()
        let (principal, _) = try await fixture.principals.create(displayName: "app")
        let before = try await fixture.service.managedIdentity(for: principal, resource: TokenFixture.audience).accessToken
        try await fixture.service.keyring.rotate()
        let after = try await fixture.service.managedIdentity(for: principal, resource: TokenFixture.audience).accessToken
        #expect(JWT.parse(before)?.header.kid != JWT.parse(after)?.header.kid)
        #expect(try await fixture.verify(before).objectId == principal.objectId)
        #expect(try await fixture.verify(after).objectId == principal.objectId)
        #expect(fixture.service.keyring.records.count == 2)

        // A second node sharing the storage learns the new key on the first token that names it.
        let otherNode = try await SigningKeyring(storage: fixture.storage, clock: fixture.clock)
        try await fixture.service.keyring.rotate()
        fixture.clock.advance(seconds: 10)
        let newest = try await fixture.service.managedIdentity(for: principal, resource: TokenFixture.audience).accessToken
        let kid = try #require(JWT.parse(newest)?.header.kid)
        #expect(try await otherNode.key(kid: kid) != nil)
    }

    @Test func externalIssuersAreTrustedForTheirOwnAudiences() async throws {
        let signer = P256.Signing.PrivateKey()
        let raw = signer.publicKey.rawRepresentation
        let jwks = JWKSet(keys: [
            .init(kty: "EC", kid: "ext-1", use: "sig", crv: "P-256", x: Base64.urlEncoded(raw.prefix(32)), y: Base64.urlEncoded(raw.suffix(32)))
        ])
        let external = TrustedIssuer(
            issuer: "https://idp.example/realms/coffre", audiences: ["api://coffre"], tenantId: "example-tenant",
            keys: StaticIssuerKeys(jwks.verificationKeys))
        let fixture = try await TokenFixture(external: [external])
        let now = fixture.clock.now

        func token(_ claims: String, kid: String = "ext-1", key: P256.Signing.PrivateKey = signer) throws -> String {
            let input = Base64.urlEncoded(Array(#"{"alg":"ES256","kid":"\#(kid)"}"#.utf8)) + "." + Base64.urlEncoded(Array(claims.utf8))
            return input + "." + Base64.urlEncoded(try key.signature(for: Array(input.utf8)).rawRepresentation)
        }
        let good = try token(#"{"iss":"https://idp.example/realms/coffre","aud":["api://coffre"],"sub":"USER-1","exp":\#(now + 60)}"#)
        let caller = try await fixture.verify(good)
        #expect(caller.objectId == "user-1")
        #expect(caller.tenantId == "example-tenant")

        let wrongAudience = try token(
            #"{"iss":"https://idp.example/realms/coffre","aud":"https://vault.localhost:8443","sub":"u","exp":\#(now + 60)}"#)
        await #expect(throws: CoffreError.self) { try await fixture.verify(wrongAudience) }
        let otherKey = try token(#"{"iss":"https://idp.example/realms/coffre","aud":"api://coffre","sub":"u","exp":\#(now + 60)}"#, key: .init())
        await #expect(throws: CoffreError.self) { try await fixture.verify(otherKey) }
    }
}

@Suite struct ClientAssertionTests {
    /// A self-signed certificate and its key, as a principal would register it.
    static func certificate() throws -> (key: _RSA.Signing.PrivateKey, der: [UInt8]) {
        let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
        let name = try DistinguishedName { CommonName("client") }
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: Date() - 60,
            notValidAfter: Date() + 86_400, issuer: name, subject: name, signatureAlgorithm: .sha256WithRSAEncryption,
            extensions: .init(), issuerPrivateKey: .init(key))
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return (key, serializer.serializedBytes)
    }

    static func assertion(
        key: _RSA.Signing.PrivateKey, der: [UInt8], clientId: String, audience: String, now: Int64, pss: Bool = false
    ) throws -> String {
        let header =
            pss
            ? #"{"alg":"PS256","typ":"JWT","x5t#S256":"\#(Base64.urlEncoded(Digest.sha256(der)))"}"#
            : #"{"alg":"RS256","typ":"JWT","x5t":"\#(Base64.urlEncoded(Digest.sha1(der)))"}"#
        let claims = #"{"aud":"\#(audience)","iss":"\#(clientId)","sub":"\#(clientId)","exp":\#(now + 600),"iat":\#(now),"jti":"1"}"#
        let input = Base64.urlEncoded(Array(header.utf8)) + "." + Base64.urlEncoded(Array(claims.utf8))
        let signature = try key.signature(for: SHA256.hash(data: Array(input.utf8)), padding: pss ? .PSS : .insecurePKCS1v1_5)
        return input + "." + Base64.urlEncoded(signature.rawRepresentation)
    }

    @Test(arguments: [false, true])
    func certificateCredentialsGetTokens(pss: Bool) async throws {
        let fixture = try await TokenFixture()
        let (key, der) = try Self.certificate()
        let (principal, _) = try await fixture.principals.create(displayName: "cert-app")
        _ = try await fixture.principals.addCertificate(try ClientCertificate(parsing: der, now: fixture.clock.now), to: principal.clientId)
        let assertion = try Self.assertion(
            key: key, der: der, clientId: principal.clientId, audience: TokenFixture.tokenEndpoint, now: fixture.clock.now, pss: pss)
        let token = try await fixture.service.clientAssertion(
            tenant: TokenFixture.tenant, clientId: principal.clientId, assertion: assertion, scope: TokenFixture.audience + "/.default",
            audiences: [TokenFixture.tokenEndpoint])
        #expect(try await fixture.verify(token.accessToken).objectId == principal.objectId)
    }

    @Test func assertionsFromUnregisteredKeysOrForOtherAudiencesAreRefused() async throws {
        let fixture = try await TokenFixture()
        let (key, der) = try Self.certificate()
        let (stranger, strangerDER) = try Self.certificate()
        let (principal, _) = try await fixture.principals.create(displayName: "cert-app")
        _ = try await fixture.principals.addCertificate(try ClientCertificate(parsing: der, now: fixture.clock.now), to: principal.clientId)
        let scope = TokenFixture.audience + "/.default"
        let cases = [
            try Self.assertion(
                key: stranger, der: strangerDER, clientId: principal.clientId, audience: TokenFixture.tokenEndpoint, now: fixture.clock.now),
            try Self.assertion(key: stranger, der: der, clientId: principal.clientId, audience: TokenFixture.tokenEndpoint, now: fixture.clock.now),
            try Self.assertion(key: key, der: der, clientId: principal.clientId, audience: "https://elsewhere/token", now: fixture.clock.now),
            try Self.assertion(key: key, der: der, clientId: principal.clientId, audience: TokenFixture.tokenEndpoint, now: fixture.clock.now - 7200),
        ]
        for assertion in cases {
            await #expect(throws: OAuthError.self) {
                try await fixture.service.clientAssertion(
                    tenant: TokenFixture.tenant, clientId: principal.clientId, assertion: assertion, scope: scope,
                    audiences: [TokenFixture.tokenEndpoint])
            }
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

    @Test func rotationKeepsBothSecretsUntilOneIsRemoved() async throws {
        let principals = PrincipalDirectory(storage: MemoryStorage(), clock: ManualClock())
        let (principal, first) = try await principals.create(displayName: "app")
        let (updated, second) = try await principals.addSecret(to: "app")
        #expect(updated.accepts(secret: first, at: 0) && updated.accepts(secret: second, at: 0))
        let pruned = try await principals.removeSecret(updated.secrets[0].id, from: principal.clientId)
        #expect(!pruned.accepts(secret: first, at: 0) && pruned.accepts(secret: second, at: 0))
        #expect(try await principals.find(principal.objectId).clientId == principal.clientId)
        _ = try await principals.delete(principal.clientId)
        await #expect(throws: CoffreError.principalNotFound("app")) { try await principals.find("app") }
    }
}
