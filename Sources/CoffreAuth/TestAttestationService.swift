import CoffreCrypto
import CoffreModel
import CoffreStorage

/// A test attestation service, as Microsoft's SDK tests use one (`AZURE_KEYVAULT_ATTESTATION_URL`): anyone may ask it
/// for a token (`{base}/generate-test-token`) that claims `"sdk-test": true` and names a runtime key, signed by a key of
/// its own published at `{base}/keys` (and `{base}/certs`, where key release looks for an authority's keys) and named
/// by `{base}/.well-known/openid-configuration`.
///
/// It attests nothing, so it satisfies only release policies whose authority is this service's URL (the token's
/// issuer is `{base}/`): never name it in a policy that guards a key of value. The runtime key of its tokens is
/// Coffre's own and never leaves it, so what is released to a test token cannot be unwrapped by anyone.
public struct TestAttestationService: Sendable {
    /// The signing and runtime keys, made on first use and kept inside the barrier.
    struct Record: Codable, Sendable {
        var kid: String
        var signingKeyDER: [UInt8]
        var runtimeKeyDER: [UInt8]
    }

    /// The claims of a test token, as Microsoft's test service writes them.
    struct Claims: Encodable {
        struct Empty: Encodable {}
        struct Runtime: Encodable { var keys: [RuntimeKey] }
        struct RuntimeKey: Encodable {
            var kty = "RSA"
            var kid = TestAttestationService.runtimeKeyId
            var key_ops = ["encrypt"]
            var e: String
            var n: String
        }

        var iss: String
        var iat: Int64
        var nbf: Int64
        var exp: Int64
        var sdkTest = true
        var initTime = Empty()
        var runtime: Runtime

        enum CodingKeys: String, CodingKey {
            case iss, iat, nbf, exp
            case sdkTest = "sdk-test"
            case initTime = "x-ms-inittime"
            case runtime = "x-ms-runtime"
        }
    }

    /// `{issuer, jwks_uri}`: where a verifier finds the keys.
    public struct OpenIDConfiguration: Encodable, Sendable {
        public var issuer: String
        public var jwks_uri: String
    }

    static let storageKey = "sys/test-attestation"
    static let runtimeKeyId = "fake-release-key"
    /// How long a test token is valid.
    static let lifetime: Int64 = 3600

    /// The service's URL, without a trailing slash (`https://localhost:8443/test-attestation`).
    public let base: String
    let storage: any StorageBackend
    let clock: any WallClock

    public init(base: String, storage: any StorageBackend, clock: any WallClock) {
        self.base = base
        self.storage = storage
        self.clock = clock
    }

    /// A signed test token: issuer `{base}/`, `"sdk-test": true`, the runtime key in `x-ms-runtime.keys`.
    public func token() async throws -> String {
        let record = try await keys()
        let runtime = try RSASigningKey(derRepresentation: record.runtimeKeyDER).publicKey.components
        let now = clock.now
        let claims = Claims(
            iss: base + "/", iat: now, nbf: now, exp: now + Self.lifetime,
            runtime: .init(keys: [.init(e: Base64.urlEncoded(runtime.exponent), n: Base64.urlEncoded(runtime.modulus))]))
        return try JWT.sign(claims, key: .rs256(try RSASigningKey(derRepresentation: record.signingKeyDER)), kid: record.kid, jku: base + "/keys")
    }

    /// The public signing key.
    public func jwks() async throws -> JWKSet {
        let record = try await keys()
        let (modulus, exponent) = try RSASigningKey(derRepresentation: record.signingKeyDER).publicKey.components
        return JWKSet(keys: [
            JWKSet.Key(kty: "RSA", kid: record.kid, use: "sig", alg: "RS256", n: Base64.urlEncoded(modulus), e: Base64.urlEncoded(exponent))
        ])
    }

    public var openIDConfiguration: OpenIDConfiguration { OpenIDConfiguration(issuer: base + "/", jwks_uri: base + "/keys") }

    /// Whether `url` is where this service publishes its keys (key release reads them in process).
    public func publishesKeys(at url: String) -> Bool { url == base + "/certs" || url == base + "/keys" }

    /// The stored keys; the first caller makes them (one transaction: concurrent first calls agree).
    func keys() async throws -> Record {
        if let record = try await storage.read(Record.self, at: Self.storageKey) { return record }
        let signing = try RSASigningKey.generate()
        let made = Record(
            kid: Base64.urlEncoded(Digest.sha256(signing.publicKey.components.modulus).prefix(20)), signingKeyDER: signing.derRepresentation,
            runtimeKeyDER: try RSASigningKey.generate().derRepresentation)
        return try await storage.transaction { transaction in
            if let existing = try await transaction.read(Record.self, at: Self.storageKey) { return existing }
            try await transaction.write(made, at: Self.storageKey)
            return made
        }
    }
}
