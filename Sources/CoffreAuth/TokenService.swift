import CoffreCrypto
import CoffreDirectory
import CoffreJSON
import CoffreModel
import CoffreStorage

/// An OAuth 2.0 error as Entra ID reports it (`{"error": "invalid_client", "error_description": "AADSTS…"}`).
public struct OAuthError: Error, Equatable, Sendable {
    public var code: String
    public var description: String
    public var status: Int

    public init(code: String, description: String, status: Int) {
        self.code = code
        self.description = description
        self.status = status
    }

    public static func invalidClient(_ description: String) -> OAuthError { .init(code: "invalid_client", description: description, status: 401) }
    public static func invalidRequest(_ description: String) -> OAuthError { .init(code: "invalid_request", description: description, status: 400) }
    public static func unauthorizedClient(_ description: String) -> OAuthError {
        .init(code: "unauthorized_client", description: description, status: 400)
    }
    public static func invalidScope(_ description: String) -> OAuthError { .init(code: "invalid_scope", description: description, status: 400) }
    public static func unsupportedGrant(_ description: String) -> OAuthError {
        .init(code: "unsupported_grant_type", description: description, status: 400)
    }
    public static func invalidGrant(_ description: String) -> OAuthError { .init(code: "invalid_grant", description: description, status: 400) }
    public static func temporarilyUnavailable(_ description: String) -> OAuthError {
        .init(code: "temporarily_unavailable", description: description, status: 503)
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
    let directory: Directory
    public let keyring: SigningKeyring
    let clock: any WallClock
    public let lifetime: Int64 = 3600

    public init(
        tenantId: String, issuer: String, audiences: Set<String>, directory: Directory, keyring: SigningKeyring,
        clock: any WallClock
    ) {
        self.tenantId = tenantId
        self.issuer = issuer
        self.audiences = audiences
        self.directory = directory
        self.keyring = keyring
        self.clock = clock
    }

    var principals: PrincipalDirectory { directory.principals }

    /// The issuer entry of Coffre's own tokens, for the token verifier.
    public var trustedIssuer: TrustedIssuer { TrustedIssuer(issuer: issuer, tenantId: tenantId, keys: keyring) }

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
        return try await issue(for: principal, resource: resource, method: "1")
    }

    /// The client-credentials grant with a client assertion (RFC 7523), as `CertificateCredential` sends it: a JWT signed by
    /// the private key of a certificate registered for the principal, named by its `x5t` (SHA-1) or `x5t#S256` thumbprint.
    /// `audiences` are the token-endpoint URLs the assertion may be addressed to.
    public func clientAssertion(
        tenant: String, clientId: String?, assertion: String, scope: String, audiences: Set<String>
    ) async throws -> IssuedToken {
        try checkTenant(tenant)
        let resource = try self.resource(fromScope: scope)
        guard let parsed = JWT.parse(assertion), let claims = try? parsed.claims(as: AssertionClaims.self) else {
            throw OAuthError.invalidClient("AADSTS50027: The client assertion is not a well-formed JWT.")
        }
        guard claims.iss == claims.sub, clientId == nil || clientId?.lowercased() == claims.iss.lowercased() else {
            throw OAuthError.invalidClient("AADSTS700021: The client assertion's iss and sub must both be the client id.")
        }
        guard claims.aud.values.contains(where: { audiences.contains($0) }) else {
            throw OAuthError.invalidClient("AADSTS700212: The client assertion's audience must be this token endpoint.")
        }
        let now = clock.now
        guard claims.exp.seconds > now - 300, (claims.nbf ?? claims.iat)?.seconds ?? now <= now + 300 else {
            throw OAuthError.invalidClient("AADSTS700024: The client assertion is not within its valid time range.")
        }
        guard let principal = try await principals.get(clientId: claims.iss) else {
            throw OAuthError.unauthorizedClient(
                "AADSTS700016: Application with identifier '\(claims.iss)' was not found in the directory '\(tenantId)'.")
        }
        let header = parsed.header
        let certificate = principal.certificates.first { certificate in
            (header.x5t.flatMap { Base64.decode($0) }.map { Hex.encode($0) == certificate.sha1Thumbprint } ?? false)
                || (header.x5tS256.flatMap { Base64.decode($0) }.map { Hex.encode($0) == certificate.sha256Thumbprint } ?? false)
        }
        guard let certificate, certificate.notAfter > now,
            try certificate.verificationKey.verify(alg: header.alg, signingInput: parsed.signingInput, signature: parsed.signature)
        else {
            throw OAuthError.invalidClient(
                "AADSTS700027: The client assertion failed signature validation: no valid certificate registered for "
                    + "'\(claims.iss)' matches its thumbprint and signature.")
        }
        return try await issue(for: principal, resource: resource, method: "2")
    }

    struct AssertionClaims: Decodable {
        var iss: String
        var sub: String
        var aud: TokenVerifier.Audience
        var exp: IntDate
        var nbf: IntDate?
        var iat: IntDate?
    }

    /// A managed-identity token for `principal`, whose caller was already authenticated by the endpoint.
    public func managedIdentity(for principal: PrincipalRecord, resource: String) async throws -> IssuedToken {
        let resource = try self.resource(fromScope: resource)
        return try await issue(for: principal, resource: resource, method: "0")
    }

    /// A managed-identity token for the identity a caller names (`client_id`, `object_id` or a resource id ending with
    /// one); without a name, the server's own identity (`defaultClientId`). A named principal must be a managed identity.
    public func managedIdentity(named reference: String?, defaultClientId: String, resource: String) async throws
        -> (principal: PrincipalRecord, token: IssuedToken)
    {
        let principal: PrincipalRecord
        if let reference {
            let found = try? await principals.find(reference.split(separator: "/").last.map(String.init) ?? reference)
            guard let found, found.managedIdentity || found.clientId == defaultClientId else {
                throw OAuthError.invalidRequest("No managed identity '\(reference)' is assigned to this host.")
            }
            principal = found
        } else {
            guard let system = try await principals.get(clientId: defaultClientId) else {
                throw OAuthError.invalidRequest("The server's managed identity is missing.")
            }
            principal = system
        }
        return (principal, try await managedIdentity(for: principal, resource: resource))
    }

    /// Reads the resource from a v2 scope (`https://vault.localhost:8443/.default`) or a v1 resource.
    func resource(fromScope scope: String) throws -> String { try resourceScope(scope).resource }

    /// A resource served here, and the scope word that named it.
    public struct ResourceScope: Sendable, Equatable {
        public var resource: String
        public var scope: String
    }

    /// The first word of `scope` (a v2 scope list or a v1 resource) that names a resource served here; OpenID words
    /// (`openid`, `profile`, `offline_access`) are skipped.
    public func resourceScope(_ scope: String) throws -> ResourceScope {
        let candidates = scope.split(separator: " ").map(String.init)
        for candidate in candidates {
            var resource = candidate
            if resource.hasSuffix("/.default") { resource.removeLast("/.default".count) }
            resource = resource.trimmingSlash
            if audiences.contains(resource) { return ResourceScope(resource: resource, scope: candidate) }
        }
        throw OAuthError.invalidScope(
            "AADSTS500011: The resource principal named \(scope) was not found in the tenant named \(tenantId). "
                + "Resources served here: \(audiences.sorted().joined(separator: ", ")).")
    }

    /// The tenant of a request's path: this server's id, or an alias MSAL uses (`adfs`, `organizations`, `common`).
    func checkTenant(_ tenant: String) throws {
        guard tenant.lowercased() == tenantId || ["adfs", "organizations", "common"].contains(tenant.lowercased()) else {
            throw OAuthError.invalidRequest("AADSTS90002: Tenant '\(tenant)' not found. This server's tenant is \(tenantId).")
        }
    }

    /// An access token for a person, obtained through the public client `clientId`.
    func issue(forUser user: UserRecord, clientId: String, resource: String) async throws -> IssuedToken {
        let now = clock.now
        var claims = TokenClaims(
            aud: resource, iss: issuer, iat: now, nbf: now, exp: now + lifetime, sub: user.objectId, oid: user.objectId, tid: tenantId,
            appid: clientId, appidacr: "0", uti: Base64.urlEncoded(SecureRandom.bytes(16)))
        claims.idtyp = "user"
        claims.upn = user.userPrincipalName
        claims.unique_name = user.userPrincipalName
        claims.name = user.displayName
        claims.scp = "user_impersonation"
        claims.setGroups(try await directory.groups.groups(above: [user.objectId]))
        return try sign(claims, resource: resource, now: now)
    }

    /// An OpenID Connect id token for a person, addressed to the client.
    func idToken(for user: UserRecord, clientId: String, nonce: String?) throws -> String {
        let now = clock.now
        let claims = IDTokenClaims(
            aud: clientId, iss: issuer, iat: now, nbf: now, exp: now + lifetime, sub: user.objectId, oid: user.objectId, tid: tenantId,
            preferred_username: user.userPrincipalName, upn: user.userPrincipalName, name: user.displayName, nonce: nonce)
        let (kid, signingKey) = keyring.signer
        return try JWT.sign(claims, key: signingKey, kid: kid)
    }

    private func sign(_ claims: TokenClaims, resource: String, now: Int64) throws -> IssuedToken {
        let (kid, signingKey) = keyring.signer
        return IssuedToken(
            accessToken: try JWT.sign(claims, key: signingKey, kid: kid), expiresOn: now + lifetime, expiresIn: lifetime, resource: resource)
    }

    func issue(for principal: PrincipalRecord, resource: String, method: String) async throws -> IssuedToken {
        let now = clock.now
        var claims = TokenClaims(
            aud: resource, iss: issuer, iat: now, nbf: now, exp: now + lifetime, sub: principal.objectId,
            oid: principal.objectId, tid: tenantId, appid: principal.clientId, appidacr: method,
            uti: Base64.urlEncoded(SecureRandom.bytes(16)))
        claims.setGroups(try await directory.groups.groups(above: [principal.objectId]))
        return try sign(claims, resource: resource, now: now)
    }
}
