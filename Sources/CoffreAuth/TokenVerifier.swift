import CoffreCrypto
import CoffreModel
import Synchronization

/// A trusted token issuer: Coffre's own token service, or an external OpenID Connect provider.
public struct TrustedIssuer: Sendable {
    public var issuer: String
    public var keys: [String: RSAVerifyingKey]

    public init(issuer: String, keys: [String: RSAVerifyingKey]) {
        self.issuer = issuer
        self.keys = keys
    }
}

/// Verifies bearer tokens: RS256 signature by a trusted issuer's key, issuer, audience, `nbf` and `exp`.
///
/// A signature, once verified, is remembered for that exact token until the token expires, so a hot client does
/// not pay an RSA verification per request; issuer, audience and validity times are checked on every request.
public final class TokenVerifier: Sendable {
    private let issuers: Mutex<[String: TrustedIssuer]>
    private let verified = Mutex<[String: TokenClaims]>([:])
    private let clockSkew: Int64 = 300
    private let memoLimit = 10_000

    public init(issuers: [TrustedIssuer]) {
        self.issuers = Mutex(Dictionary(issuers.map { ($0.issuer, $0) }, uniquingKeysWith: { $1 }))
    }

    /// Replaces an issuer's keys (after a rotation).
    public func trust(_ issuer: TrustedIssuer) {
        issuers.withLock { $0[issuer.issuer] = issuer }
    }

    /// The caller behind `token`, if the token is valid for one of `audiences` at `now`.
    public func verify(_ token: String, audiences: Set<String>, now: Int64) throws -> Caller {
        let claims = try verifiedClaims(token)
        guard now + clockSkew >= claims.nbf else { throw CoffreError.unauthorized("AKV10022: The token is not yet valid.") }
        guard now < claims.exp + clockSkew else { throw CoffreError.unauthorized("AKV10012: The token has expired.") }
        guard audiences.contains(claims.aud.trimmingSlash) else {
            throw CoffreError.unauthorized("AKV10022: Invalid audience. Expected one of \(audiences.sorted()), found: \(claims.aud).")
        }
        return Caller(objectId: claims.oid, appId: claims.appid ?? claims.azp, tenantId: claims.tid, issuer: claims.iss)
    }

    private func verifiedClaims(_ token: String) throws -> TokenClaims {
        if let claims = verified.withLock({ $0[token] }) { return claims }
        guard let parsed = JWT.parse(token), let claims = try? parsed.claims(as: TokenClaims.self) else {
            throw CoffreError.unauthorized("AKV10000: The bearer token is malformed.")
        }
        guard parsed.header.alg == "RS256" else {
            throw CoffreError.unauthorized("AKV10000: Tokens signed with \(parsed.header.alg) are not accepted.")
        }
        guard let issuer = issuers.withLock({ $0[claims.iss] }) else {
            throw CoffreError.unauthorized("AKV10032: Invalid issuer: \(claims.iss) is not trusted.")
        }
        let key = parsed.header.kid.flatMap { issuer.keys[$0] }
        guard let key, key.verifyRS256(signature: parsed.signature, message: parsed.signingInput) else {
            throw CoffreError.unauthorized("AKV10000: The token signature is not valid.")
        }
        verified.withLock { memo in
            if memo.count >= memoLimit { memo.removeAll(keepingCapacity: true) }
            memo[token] = claims
        }
        return claims
    }
}

extension String {
    var trimmingSlash: String { hasSuffix("/") ? String(dropLast()) : self }
}
