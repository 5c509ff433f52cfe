import CoffreAuth
import CoffreCore
import CoffreModel
import HTTPTypes

/// Callers present a bearer token (`Authorization: Bearer …`), verified on every request: signature, issuer,
/// audience, validity. A missing or invalid token is a 401 with the challenge that tells SDKs where to get one.
struct BearerAuthentication: RequestAuthenticator {
    /// Which audiences a token may carry.
    enum Audience: Sendable {
        /// The resource of the zone the request addresses (`https://vault.localhost:8443` for a vault).
        case targetZone
        /// The resource of any zone this server serves (its own management API).
        case anyZone
        /// One of these, whoever issued the token (Azure Resource Manager, Graph: APIs of their own audience).
        case exactly(Set<String>)
    }

    let verifier: TokenVerifier
    let clock: any WallClock
    let addressing: Addressing
    let audience: Audience

    func authenticate(_ request: RouteRequest<Void>) async throws -> Caller? {
        // On UTF-8 bytes: `String.count` would walk the whole token (over a kilobyte) per request.
        guard let header = request.headers[.authorization], header.utf8.count > 7,
            RoutePattern.equalIgnoringASCIICase(Substring(header.utf8.prefix(7)), "bearer ")
        else {
            throw CoffreError.unauthorized("AKV10000: Request is missing a Bearer or PoP token.")
        }
        let resources: Set<String> =
            switch audience {
            case .targetZone: [addressing.resource(for: request.target)]
            case .anyZone: addressing.resources
            case .exactly(let audiences): audiences
            }
        var exactly = false
        if case .exactly = audience { exactly = true }
        return try await verifier.verify(String(Substring(header.utf8.dropFirst(7))), resources: resources, now: clock.now, exactly: exactly)
    }

    func challenge(for target: Addressing.Target) -> String? { addressing.challenge(for: target) }
}

extension RoutePolicy {
    /// Key Vault's way: a bearer token for `audience`, the Key Vault error envelope, bodies up to 4 MiB (certificate
    /// imports are the largest legitimate ones), every request audited.
    static func keyVault(
        _ services: CoffreServices, _ addressing: Addressing, audience: BearerAuthentication.Audience, requiresApiVersion: Bool
    ) -> RoutePolicy {
        RoutePolicy(
            authentication: BearerAuthentication(verifier: services.verifier, clock: services.clock, addressing: addressing, audience: audience),
            requiresApiVersion: requiresApiVersion, maxBodySize: 4 * 1024 * 1024, errors: KeyVaultErrors(),
            auditor: Auditor(sink: services.audit, metrics: services.metrics))
    }
}

/// Bearer tokens for one API's own audience (Azure Resource Manager, Microsoft Graph), refused in that API's words.
struct AudienceAuthentication: RequestAuthenticator {
    let bearer: BearerAuthentication
    /// The `WWW-Authenticate` value of 401 answers.
    let challenge: String
    /// The error for a request without a token (`missing`) or with one that is not valid here.
    let refusal: @Sendable (_ missing: Bool, _ reason: String) -> any Error

    init(
        _ services: CoffreServices, _ addressing: Addressing, audience: String, challenge: String,
        refusal: @escaping @Sendable (_ missing: Bool, _ reason: String) -> any Error
    ) {
        bearer = BearerAuthentication(verifier: services.verifier, clock: services.clock, addressing: addressing, audience: .exactly([audience]))
        self.challenge = challenge
        self.refusal = refusal
    }

    func authenticate(_ request: RouteRequest<Void>) async throws -> Caller? {
        do {
            return try await bearer.authenticate(request)
        } catch CoffreError.unauthorized(let reason) {
            throw refusal(request.headers[.authorization] == nil, reason)
        }
    }

    func challenge(for target: Addressing.Target) -> String? { challenge }
}
