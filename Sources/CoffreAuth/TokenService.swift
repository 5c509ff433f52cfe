import CoffreCrypto
import CoffreModel
import CoffreStorage

/// An OAuth 2.0 error as Entra ID reports it (`{"error": "invalid_client", "error_description": "AADSTS…"}`).
public struct OAuthError: Error, Equatable, Sendable {
    public var code: String
    public var description: String
    public var status: Int

    public static func invalidClient(_ description: String) -> OAuthError { .init(code: "invalid_client", description: description, status: 401) }
    public static func invalidRequest(_ description: String) -> OAuthError { .init(code: "invalid_request", description: description, status: 400) }
    public static func unauthorizedClient(_ description: String) -> OAuthError {
        .init(code: "unauthorized_client", description: description, status: 400)
    }
    public static func invalidScope(_ description: String) -> OAuthError { .init(code: "invalid_scope", description: description, status: 400) }
    public static func unsupportedGrant(_ description: String) -> OAuthError {
        .init(code: "unsupported_grant_type", description: description, status: 400)
    }
}

/// A token handed out by the token service.
public struct IssuedToken: Sendable {
    public var accessToken: String
    public var expiresOn: Int64
    public var expiresIn: Int64
    public var resource: String
}

/// Coffre's own token service: client credentials and managed identity, signing with the newest signing key.
public struct TokenService: Sendable {
    public let tenantId: String
    /// `https://host[:port]/{tenant}/v2.0`, the issuer of every token.
    public let issuer: String
    /// Resources (token audiences) this server serves, without a trailing slash.
    public let audiences: Set<String>
    let principals: PrincipalDirectory
    let signingKey: RSASigningKey
    let kid: String
    let clock: any WallClock
    public let lifetime: Int64 = 3600

    public init(
        tenantId: String, issuer: String, audiences: Set<String>, principals: PrincipalDirectory, signingKey: SigningKeyRecord,
        clock: any WallClock
    ) throws {
        self.tenantId = tenantId
        self.issuer = issuer
        self.audiences = audiences
        self.principals = principals
        self.signingKey = try RSASigningKey(derRepresentation: signingKey.privateKeyDER)
        self.kid = signingKey.kid
        self.clock = clock
    }

    /// The OAuth 2.0 client-credentials grant with a client secret.
    public func clientCredentials(tenant: String, clientId: String, clientSecret: String, scope: String) async throws -> IssuedToken {
        try checkTenant(tenant)
        let resource = try self.resource(fromScope: scope)
        guard let principal = try await principals.get(clientId: clientId) else {
            throw OAuthError.unauthorizedClient(
                "AADSTS700016: Application with identifier '\(clientId)' was not found in the directory '\(tenantId)'.")
        }
        guard principal.accepts(secret: clientSecret, at: clock.now) else {
            throw OAuthError.invalidClient(
                "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client "
                    + "secret value, not the client secret ID, for a secret added to app '\(clientId)'.")
        }
        return try issue(for: principal, resource: resource, method: "1")
    }

    /// A managed-identity token for `principal`, whose caller was already authenticated by the endpoint.
    public func managedIdentity(for principal: PrincipalRecord, resource: String) throws -> IssuedToken {
        let resource = try self.resource(fromScope: resource)
        return try issue(for: principal, resource: resource, method: "2")
    }

    /// Reads the resource from a v2 scope (`https://vault.localhost:8443/.default`) or a v1 resource.
    func resource(fromScope scope: String) throws -> String {
        let candidates = scope.split(separator: " ").map(String.init)
        for candidate in candidates {
            var resource = candidate
            if resource.hasSuffix("/.default") { resource.removeLast("/.default".count) }
            resource = resource.trimmingSlash
            if audiences.contains(resource) { return resource }
        }
        throw OAuthError.invalidScope(
            "AADSTS500011: The resource principal named \(scope) was not found in the tenant named \(tenantId). "
                + "Resources served here: \(audiences.sorted().joined(separator: ", ")).")
    }

    func checkTenant(_ tenant: String) throws {
        guard tenant.lowercased() == tenantId || tenant.lowercased() == "adfs" else {
            throw OAuthError.invalidRequest("AADSTS90002: Tenant '\(tenant)' not found. This server's tenant is \(tenantId).")
        }
    }

    func issue(for principal: PrincipalRecord, resource: String, method: String) throws -> IssuedToken {
        let now = clock.now
        let claims = TokenClaims(
            aud: resource, iss: issuer, iat: now, nbf: now, exp: now + lifetime, sub: principal.objectId,
            oid: principal.objectId, tid: tenantId, appid: principal.clientId, appidacr: method,
            uti: Base64.urlEncoded(SecureRandom.bytes(16)))
        return IssuedToken(
            accessToken: try JWT.sign(claims, key: signingKey, kid: kid), expiresOn: now + lifetime, expiresIn: lifetime,
            resource: resource)
    }
}
