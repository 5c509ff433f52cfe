import CoffreCrypto
import CoffreJSON
import CoffreModel
import Foundation
import Synchronization

/// Verifies attestation tokens for key release: the token's issuer must be one of the release policy's authorities,
/// and its signature must verify with that authority's keys, published at `{authority}/certs` (as Azure Attestation
/// does). Authorities are `https://` URLs; plain `http://` is accepted for loopback authorities only (tests, local
/// attestation stubs).
public final class AttestationVerifier: Sendable {
    public typealias Fetch = @Sendable (String) async throws -> [UInt8]

    private let fetch: Fetch
    private let clock: any WallClock
    private let keys = Mutex<[String: RemoteIssuerKeys]>([:])

    public init(clock: any WallClock, fetch: @escaping Fetch) {
        self.clock = clock
        self.fetch = fetch
    }

    /// The issuer and claims of a valid token from one of `authorities`.
    public func verify(_ token: String, authorities: [String]) async throws -> (issuer: String, claims: JSONValue) {
        guard let parsed = JWT.parse(token), let claims = try? JSONDecoder().decode(JSONValue.self, from: Data(parsed.payload)),
            let issuer = claims["iss"]?.string
        else { throw CoffreError.badParameter("The attestation token (target) is not a signed JWT.") }
        let authority = issuer.hasSuffix("/") ? String(issuer.dropLast()) : issuer
        guard authorities.contains(authority) else {
            throw CoffreError.forbidden(
                .releasePolicyNotSatisfied, message: "The attestation token's issuer is not an authority of the release policy.")
        }
        guard authority.hasPrefix("https://") || Self.isLoopback(authority) else {
            throw CoffreError.badParameter("Release policy authorities must be https URLs.")
        }
        let source = keys.withLock { keys in
            if let existing = keys[authority] { return existing }
            let fetch = self.fetch
            let created = RemoteIssuerKeys(clock: clock) { try await fetch(authority + "/certs") }
            keys[authority] = created
            return created
        }
        guard let kid = parsed.header.kid ?? parsed.header.x5t, let key = try await source.key(kid: kid),
            key.verify(alg: parsed.header.alg, signingInput: parsed.signingInput, signature: parsed.signature)
        else { throw CoffreError.badParameter("The attestation token's signature does not verify with its authority's keys.") }
        let now = clock.now
        guard case .number(let expires) = claims["exp"] ?? .null, Double(now) < expires + 300 else {
            throw CoffreError.badParameter("The attestation token has expired.")
        }
        if case .number(let notBefore) = claims["nbf"] ?? .null, Double(now) + 300 < notBefore {
            throw CoffreError.badParameter("The attestation token is not yet valid.")
        }
        return (authority, claims)
    }

    static func isLoopback(_ url: String) -> Bool {
        ["http://127.0.0.1:", "http://localhost:", "http://[::1]:"].contains { url.hasPrefix($0) }
    }
}
