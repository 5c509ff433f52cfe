import CoffreCrypto
import CoffreJSON
import CoffreModel
import Foundation
import Synchronization

/// Where an issuer's verification keys come from.
public protocol IssuerKeys: Sendable {
    /// The key with this `kid`, or `nil` if the issuer has none (after looking again if the source can change).
    func key(kid: String) async throws -> VerificationKey?
}

/// A fixed set of keys (a JWKS file).
public struct StaticIssuerKeys: IssuerKeys {
    public let keys: [String: VerificationKey]
    public init(_ keys: [String: VerificationKey]) { self.keys = keys }
    public func key(kid: String) async throws -> VerificationKey? { keys[kid] }
}

/// Keys fetched from a JWKS URL, fetched again (at most once a minute) when a token names an unknown `kid`.
public final class RemoteIssuerKeys: IssuerKeys {
    public typealias Fetch = @Sendable () async throws -> [UInt8]
    private let fetch: Fetch
    private let clock: any WallClock
    private let state = Mutex<(keys: [String: VerificationKey], fetchedAt: Int64?)>(([:], nil))

    public init(clock: any WallClock, fetch: @escaping Fetch) {
        self.clock = clock
        self.fetch = fetch
    }

    public func key(kid: String) async throws -> VerificationKey? {
        let (keys, fetchedAt) = state.withLock { $0 }
        if let key = keys[kid] { return key }
        if let fetchedAt, clock.now - fetchedAt < 60 { return nil }
        let fresh = try JWKSet.parse(try await fetch()).verificationKeys
        state.withLock { $0 = (fresh, clock.now) }
        return fresh[kid]
    }
}

/// An issuer whose tokens Coffre accepts.
public struct TrustedIssuer: Sendable {
    /// The exact `iss` claim.
    public var issuer: String
    /// Audiences accepted from this issuer; `nil` means the server's own resources (the zone of the request).
    public var audiences: Set<String>?
    /// The tenant of callers whose tokens carry no `tid` (generic OpenID Connect providers).
    public var tenantId: String?
    public var keys: any IssuerKeys

    public init(issuer: String, audiences: Set<String>? = nil, tenantId: String? = nil, keys: any IssuerKeys) {
        self.issuer = issuer
        self.audiences = audiences
        self.tenantId = tenantId
        self.keys = keys
    }
}

/// Verifies bearer tokens: the signature by a trusted issuer's key (RS, PS or ES), the issuer, the audience, `nbf`
/// and `exp`.
///
/// A signature, once verified, is remembered for that exact token until it expires, so a busy client does not pay a
/// signature verification per request; issuer, audience and validity times are checked on every request.
public final class TokenVerifier: Sendable {
    private let issuers: [String: TrustedIssuer]
    private let verified = Mutex<[String: Claims]>([:])
    private let clockSkew: Int64 = 300
    private let memoLimit = 10_000

    /// The claims Coffre reads; external issuers may leave out Entra-specific ones.
    struct Claims: Decodable {
        var iss: String
        var aud: Audience
        var exp: IntDate
        var nbf: IntDate?
        var sub: String?
        var oid: String?
        var tid: String?
        var appid: String?
        var azp: String?
        var groups: [String]?
    }

    /// `aud` is a string or an array of strings.
    struct Audience: Decodable {
        var values: [String]
        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let single = try? container.decode(String.self) {
                values = [single]
            } else {
                values = try container.decode([String].self)
            }
        }
    }

    public init(issuers: [TrustedIssuer]) {
        self.issuers = Dictionary(issuers.map { ($0.issuer, $0) }, uniquingKeysWith: { $1 })
    }

    /// The caller behind `token`, if the token is valid at `now` for one of `resources` (own tokens) or for its
    /// issuer's configured audiences (external tokens; with `exactly`, for one of `resources` whoever issued it).
    public func verify(_ token: String, resources: Set<String>, now: Int64, exactly: Bool = false) async throws -> Caller {
        let claims = try await verifiedClaims(token)
        guard let issuer = issuers[claims.iss] else { throw CoffreError.unauthorized("AKV10032: Invalid issuer.") }
        if let nbf = claims.nbf?.seconds, now + clockSkew < nbf { throw CoffreError.unauthorized("AKV10022: The token is not yet valid.") }
        guard now < claims.exp.seconds + clockSkew else { throw CoffreError.unauthorized("AKV10012: The token has expired.") }
        let accepted = exactly ? resources : issuer.audiences ?? resources
        guard claims.aud.values.contains(where: { accepted.contains($0.trimmingSlash) }) else {
            throw CoffreError.unauthorized(
                "AKV10022: Invalid audience. Expected \(accepted.sorted().joined(separator: " or ")), found: \(claims.aud.values.joined(separator: ", "))."
            )
        }
        guard let objectId = claims.oid ?? claims.sub else {
            throw CoffreError.unauthorized("AKV10000: The token names no principal (no oid or sub claim).")
        }
        return Caller(
            objectId: objectId.lowercased(), appId: claims.appid ?? claims.azp, tenantId: claims.tid ?? issuer.tenantId ?? claims.iss,
            issuer: claims.iss, groups: claims.groups ?? [])
    }

    private func verifiedClaims(_ token: String) async throws -> Claims {
        if let claims = verified.withLock({ $0[token] }) { return claims }
        guard let parsed = JWT.parse(token), let claims = try? parsed.claims(as: Claims.self) else {
            throw CoffreError.unauthorized("AKV10000: The bearer token is malformed.")
        }
        guard let issuer = issuers[claims.iss] else {
            throw CoffreError.unauthorized("AKV10032: Invalid issuer: \(claims.iss) is not trusted.")
        }
        guard let kid = parsed.header.kid ?? parsed.header.x5t, let key = try await issuer.keys.key(kid: kid),
            key.verify(alg: parsed.header.alg, signingInput: parsed.signingInput, signature: parsed.signature)
        else {
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
