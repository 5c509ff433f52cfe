import CoffreAuth
import CoffreCrypto
import CoffreDirectory
import CoffreModel
import HTTPTypes
import Hummingbird
import NIOCore

/// The token service's HTTP face: OpenID Connect discovery, JWKS, the OAuth 2.0 token endpoint (v1 `resource=` and
/// v2 `scope=`, client secret or client assertion) and both managed-identity endpoints (App Service and IMDS).
/// Paths follow Entra ID so that MSAL and azure-identity work unchanged.
struct TokenRoutes: Sendable {
    let tokens: TokenService
    let signIn: UserSignIn
    let authority: String
    let managedIdentity: (headerSecret: [UInt8], defaultClientId: String)

    /// The token service: anyone may call; errors in OAuth's shape.
    var tokenService: RouteGroup<OperationName, Void> {
        let tenant = ["tenant": Self.isTenant]
        return RouteGroup(
            hosts: HostKind.keyVault,
            policy: .open(errors: OAuthErrors()),
            routes: [
                Route(.get, "{tenant}/.well-known/openid-configuration", "Discovery", accepting: tenant) { try discovery($0, version: nil) },
                Route(.get, "{tenant}/v2.0/.well-known/openid-configuration", "Discovery", accepting: tenant) {
                    try discovery($0, version: "v2.0")
                },
                Route(.get, "{tenant}/discovery/keys", "Keys", accepting: tenant) { _ in try JSON.response(tokens.keyring.jwks()) },
                Route(.get, "{tenant}/discovery/v2.0/keys", "Keys", accepting: tenant) { _ in try JSON.response(tokens.keyring.jwks()) },
                Route(.post, "{tenant}/oauth2/token", "Token", accepting: tenant, token),
                Route(.post, "{tenant}/oauth2/v2.0/token", "Token", accepting: tenant, token),
                Route(.post, "{tenant}/oauth2/devicecode", "DeviceCode", accepting: tenant, deviceCode),
                Route(.post, "{tenant}/oauth2/v2.0/devicecode", "DeviceCode", accepting: tenant, deviceCode),
                Route(.get, "common/userrealm/{user}", "UserRealm") { _ in try JSON.response(UserRealm()) },
            ],
            admit: { _, _ in })
    }

    /// The managed-identity endpoints: the caller proves itself by the header secret (App Service) or by being on this
    /// machine (IMDS); errors in their own shape.
    var managedIdentities: RouteGroup<OperationName, Void> {
        RouteGroup(
            hosts: HostKind.keyVault,
            policy: .open(errors: ManagedIdentityErrors()),
            routes: [
                Route(.get, "msi/token", "ManagedIdentityToken") { try await managedIdentityToken($0, style: .appService) },
                Route(.get, "metadata/identity/oauth2/token", "ManagedIdentityToken") { try await managedIdentityToken($0, style: .imds) },
            ],
            admit: { _, _ in })
    }

    /// A first path segment that names a tenant: a GUID, `adfs`, `common` or `organizations`.
    @Sendable static func isTenant(_ segment: String) -> Bool {
        ["adfs", "common", "organizations"].contains(segment.lowercased()) || (segment.count == 36 && segment.filter { $0 == "-" }.count == 4)
    }

    struct Discovery: Encodable {
        var issuer: String
        var authorization_endpoint: String
        var token_endpoint: String
        var device_authorization_endpoint: String
        var jwks_uri: String
        var response_types_supported = ["code", "token"]
        var response_modes_supported = ["query", "fragment", "form_post"]
        var subject_types_supported = ["pairwise"]
        var id_token_signing_alg_values_supported = ["RS256"]
        var token_endpoint_auth_methods_supported = ["client_secret_post", "client_secret_basic", "private_key_jwt"]
        var grant_types_supported = [
            "client_credentials", "password", "refresh_token", "authorization_code", "urn:ietf:params:oauth:grant-type:device_code",
        ]
        var scopes_supported = ["openid", "profile", "email", "offline_access"]
        var claims_supported = [
            "sub", "iss", "aud", "exp", "iat", "nbf", "oid", "tid", "appid", "azp", "upn", "preferred_username", "name", "nonce", "groups",
        ]
        var tenant_region_scope = "WW"
        var cloud_instance_name = "coffre"
    }

    func discovery(_ request: RouteRequest<Void>, version: String?) throws -> Response {
        let base = "\(authority)/\(request.parameter("tenant"))"
        let oauth = version.map { "\(base)/oauth2/\($0)" } ?? "\(base)/oauth2"
        return try JSON.response(
            Discovery(
                issuer: tokens.issuer, authorization_endpoint: oauth + "/authorize", token_endpoint: oauth + "/token",
                device_authorization_endpoint: oauth + "/devicecode",
                jwks_uri: version.map { "\(base)/discovery/\($0)/keys" } ?? "\(base)/discovery/keys"))
    }

    struct TokenResponse: Encodable {
        var token_type = "Bearer"
        var expires_in: Int64
        var ext_expires_in: Int64
        var access_token: String
        var resource: String?
    }

    /// A person's tokens (RFC 6749 §5.1 with Entra ID's `id_token` and `client_info`).
    struct UserTokenResponse: Encodable {
        var token_type = "Bearer"
        var scope: String
        var expires_in: Int64
        var ext_expires_in: Int64
        var access_token: String
        var refresh_token: String
        var id_token: String
        var client_info: String
    }

    /// What MSAL's user-realm lookup (before a password sign-in) needs: no federation, a plain password sign-in.
    struct UserRealm: Encodable {
        var ver = "1.0"
        var account_type = "Managed"
        var cloud_instance_name = "coffre"
        var cloud_audience_urn = "urn:federation:MicrosoftOnline"
    }

    static let assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    static let deviceCodeGrant = "urn:ietf:params:oauth:grant-type:device_code"

    /// `POST /{tenant}/oauth2[/v2.0]/token`: client credentials (secret or assertion), a person's password, a device code
    /// or a refresh token.
    func token(_ request: RouteRequest<Void>) async throws -> Response {
        let tenant = request.parameter("tenant")
        let form = Forms.parse(String(buffer: request.body))
        let scope = form["scope"] ?? form["resource"] ?? ""
        let grant: UserGrant
        switch form["grant_type"] {
        case "client_credentials": return try await clientCredentials(request, form: form)
        case "password":
            grant = try await signIn.password(
                tenant: tenant, clientId: form["client_id"], username: form["username"] ?? "", password: form["password"] ?? "", scope: scope)
        case "refresh_token":
            grant = try await signIn.refresh(tenant: tenant, clientId: form["client_id"], refreshToken: form["refresh_token"] ?? "", scope: scope)
        case "authorization_code":
            grant = try await signIn.redeemCode(
                tenant: tenant, clientId: form["client_id"], code: form["code"] ?? "", redirectURI: form["redirect_uri"],
                verifier: form["code_verifier"], scope: form["scope"])
        case Self.deviceCodeGrant:
            grant = try await signIn.pollDeviceFlow(
                tenant: tenant, clientId: form["client_id"], deviceCode: form["device_code"] ?? form["code"] ?? "")
        default:
            throw OAuthError.unsupportedGrant("AADSTS70003: The grant type '\(form["grant_type"] ?? "")' is not supported.")
        }
        return try JSON.response(
            UserTokenResponse(
                scope: grant.scope, expires_in: grant.access.expiresIn, ext_expires_in: grant.access.expiresIn,
                access_token: grant.access.accessToken, refresh_token: grant.refreshToken, id_token: grant.idToken, client_info: grant.clientInfo),
            headers: [.cacheControl: "no-store"])
    }

    struct DeviceCodeResponse: Encodable {
        var device_code: String
        var user_code: String
        var verification_uri: String
        var expires_in: Int64
        var interval: Int64
        var message: String
    }

    /// `POST /{tenant}/oauth2[/v2.0]/devicecode`: starts a device-code sign-in, approved on `/devicelogin`.
    func deviceCode(_ request: RouteRequest<Void>) async throws -> Response {
        let form = Forms.parse(String(buffer: request.body))
        let start = try await signIn.startDeviceFlow(
            tenant: request.parameter("tenant"), clientId: form["client_id"], scope: form["scope"] ?? form["resource"] ?? "")
        let page = authority + "/devicelogin"
        return try JSON.response(
            DeviceCodeResponse(
                device_code: start.deviceCode, user_code: start.userCode, verification_uri: page, expires_in: start.expiresIn,
                interval: start.interval,
                message: "To sign in, use a web browser to open the page \(page) and enter the code \(start.userCode) to authenticate."),
            headers: [.cacheControl: "no-store"])
    }

    /// The client-credentials grant (client secret or client assertion).
    func clientCredentials(_ request: RouteRequest<Void>, form: [String: String]) async throws -> Response {
        let tenant = request.parameter("tenant")
        var clientId = form["client_id"]
        var clientSecret = form["client_secret"]
        if let basic = Self.basicCredentials(request.headers[.authorization]) {
            clientId = clientId ?? basic.user
            clientSecret = clientSecret ?? basic.password
        }
        guard let scope = form["scope"] ?? form["resource"] else {
            throw OAuthError.invalidRequest("AADSTS900144: The request body must contain the following parameter: 'scope'.")
        }
        let issued: IssuedToken
        if let assertion = form["client_assertion"], form["client_assertion_type"] == Self.assertionType {
            let endpoints: Set<String> = [
                authority + request.incoming.path, "\(authority)/\(tokens.tenantId)/oauth2/v2.0/token",
                "\(authority)/\(tokens.tenantId)/oauth2/token",
            ]
            issued = try await tokens.clientAssertion(
                tenant: tenant, clientId: clientId, assertion: assertion, scope: scope, audiences: endpoints)
        } else {
            guard let clientId, !clientId.isEmpty else {
                throw OAuthError.invalidRequest("AADSTS900144: The request body must contain the following parameter: 'client_id'.")
            }
            guard let clientSecret else {
                throw OAuthError.invalidClient(
                    "AADSTS7000218: The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
            }
            issued = try await tokens.clientCredentials(tenant: tenant, clientId: clientId, clientSecret: clientSecret, scope: scope)
        }
        return try JSON.response(
            TokenResponse(
                expires_in: issued.expiresIn, ext_expires_in: issued.expiresIn, access_token: issued.accessToken,
                resource: form["resource"] != nil ? issued.resource : nil),
            headers: [.cacheControl: "no-store"])
    }

    enum ManagedIdentityStyle {
        /// `IDENTITY_ENDPOINT` + `IDENTITY_HEADER`: the caller proves itself with the header secret.
        case appService
        /// Azure VM style (`/metadata/identity/oauth2/token`, `Metadata: true`): loopback callers only.
        case imds
    }

    struct ManagedIdentityResponse: Encodable {
        var access_token: String
        var expires_on: String
        var expires_in: String
        var resource: String
        var token_type = "Bearer"
        var client_id: String
    }

    /// A managed-identity token. Without `client_id`/`object_id`/`mi_res_id` the server's own (system) identity answers;
    /// with one, that principal must be a managed identity.
    func managedIdentityToken(_ request: RouteRequest<Void>, style: ManagedIdentityStyle) async throws -> Response {
        switch style {
        case .appService:
            let presented = request.headers[HTTPField.Name("X-IDENTITY-HEADER")!] ?? ""
            guard ConstantTime.equals(Array(presented.utf8), managedIdentity.headerSecret) else {
                throw OAuthError(code: "invalid_request", description: "The X-IDENTITY-HEADER is missing or wrong.", status: 401)
            }
        case .imds:
            guard request.headers[HTTPField.Name("Metadata")!]?.lowercased() == "true" else {
                throw OAuthError.invalidRequest("Required metadata header not specified")
            }
            guard request.context.isLoopback else {
                throw OAuthError(code: "invalid_request", description: "The IMDS endpoint only answers callers on this machine.", status: 403)
            }
        }
        guard let resource = request.query["resource"], !resource.isEmpty else {
            throw OAuthError.invalidRequest("The 'resource' query parameter is required.")
        }
        let query = request.query
        let (principal, issued) = try await tokens.managedIdentity(
            named: query["client_id"] ?? query["object_id"] ?? query["principal_id"] ?? query["mi_res_id"] ?? query["msi_res_id"],
            defaultClientId: managedIdentity.defaultClientId, resource: resource)
        return try JSON.response(
            ManagedIdentityResponse(
                access_token: issued.accessToken, expires_on: String(issued.expiresOn), expires_in: String(issued.expiresIn),
                resource: issued.resource, client_id: principal.clientId))
    }

    static func basicCredentials(_ header: String?) -> (user: String, password: String)? {
        guard let header, header.lowercased().hasPrefix("basic "), let decoded = Base64.decode(header.dropFirst(6)) else { return nil }
        let parts = String(decoding: decoded, as: UTF8.self).split(separator: ":", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        return (PercentEncoding.decodeLeniently(parts[0], plusIsSpace: true), PercentEncoding.decodeLeniently(parts[1], plusIsSpace: true))
    }
}
