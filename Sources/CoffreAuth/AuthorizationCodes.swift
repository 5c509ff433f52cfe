import CoffreCrypto
import CoffreDirectory
import CoffreModel
import CoffreStorage
import Foundation

/// An authorization request (`/authorize`) once its client and redirect URI are known to be right: only then may an
/// error be sent back to the redirect URI.
public struct AuthorizationRequest: Sendable, Equatable {
    public var client: PublicClient
    public var redirectURI: String
    public var scope: String
    public var state: String?
    public var nonce: String?
    public var codeChallenge: String
    /// `query` (default) or `form_post`.
    public var responseMode: String
    public var loginHint: String?
}

/// A code issued by the authorization endpoint (`sts/codes/{sha256(code)}`), redeemed once, within five minutes, by
/// the client that asked, with the same redirect URI and the PKCE verifier of its challenge.
struct AuthorizationCode: Codable, Sendable, Equatable {
    var clientId: String
    var redirectURI: String
    var userObjectId: String
    var scope: String
    /// `BASE64URL(SHA256(code_verifier))` (RFC 7636, S256).
    var codeChallenge: String
    var nonce: String?
    var expires: Int64

    static let lifetime: Int64 = 300
}

/// Why an authorization request cannot even be answered at its redirect URI (shown on a page instead).
public struct AuthorizationRequestRefused: Error, Equatable, Sendable {
    public var message: String
}

extension UserSignIn {
    static func codeKey(_ code: String) -> String { "sts/codes/" + Hex.encode(Digest.sha256(Array(code.utf8))) }

    /// Checks an authorization request's parameters. A wrong client or redirect URI is refused outright
    /// (``AuthorizationRequestRefused``); other mistakes are `OAuthError`s for the redirect URI.
    public func authorizationRequest(_ parameters: [String: String]) throws -> AuthorizationRequest {
        guard let client = try? publicClient(parameters["client_id"]) else {
            throw AuthorizationRequestRefused(message: "The application '\(parameters["client_id"] ?? "")' is not known here.")
        }
        guard let redirectURI = parameters["redirect_uri"], client.allows(redirectURI: redirectURI) else {
            throw AuthorizationRequestRefused(
                message: "The redirect URI '\(parameters["redirect_uri"] ?? "")' is not registered for \(client.displayName).")
        }
        guard parameters["response_type"] == "code" else {
            throw OAuthError(code: "unsupported_response_type", description: "AADSTS70005: Only response_type=code is supported.", status: 400)
        }
        guard let challenge = parameters["code_challenge"], (43...128).contains(challenge.count), parameters["code_challenge_method"] == "S256"
        else {
            throw OAuthError.invalidRequest("AADSTS9002325: Proof Key for Code Exchange (S256) is required for public clients.")
        }
        let scope = parameters["scope"] ?? ""
        _ = try tokens.resourceScope(scope)
        let mode = parameters["response_mode"] ?? "query"
        guard ["query", "form_post"].contains(mode) else {
            throw OAuthError.invalidRequest("AADSTS900144: response_mode must be query or form_post.")
        }
        return AuthorizationRequest(
            client: client, redirectURI: redirectURI, scope: scope, state: parameters["state"], nonce: parameters["nonce"],
            codeChallenge: challenge, responseMode: mode, loginHint: parameters["login_hint"])
    }

    /// The signed-in person approved: a one-time code for the client.
    public func issueCode(for request: AuthorizationRequest, user: UserRecord) async throws -> String {
        let code = Base64.urlEncoded(SecureRandom.bytes(32))
        let record = AuthorizationCode(
            clientId: request.client.clientId, redirectURI: request.redirectURI, userObjectId: user.objectId, scope: request.scope,
            codeChallenge: request.codeChallenge, nonce: request.nonce, expires: clock.now + AuthorizationCode.lifetime)
        try await storage.transaction { try await $0.write(record, at: Self.codeKey(code)) }
        return code
    }

    /// `grant_type=authorization_code`: the code, once, with the PKCE verifier and the same redirect URI.
    public func redeemCode(tenant: String, clientId: String?, code: String, redirectURI: String?, verifier: String?, scope: String?)
        async throws -> UserGrant
    {
        try tokens.checkTenant(tenant)
        let client = try publicClient(clientId)
        let key = Self.codeKey(code)
        let record: AuthorizationCode? = try await storage.transaction { transaction in
            guard let record = try await transaction.read(AuthorizationCode.self, at: key) else { return nil }
            try await transaction.delete(key)
            return record
        }
        let invalid = OAuthError.invalidGrant("AADSTS70008: The authorization code is invalid, expired or already used.")
        guard let record, record.clientId == client.clientId, clock.now < record.expires else { throw invalid }
        guard record.redirectURI == redirectURI else {
            throw OAuthError.invalidGrant("AADSTS50148: The redirect_uri differs from the one of the authorization request.")
        }
        guard let verifier, (43...128).contains(verifier.count),
            ConstantTime.equals(Array(Base64.urlEncoded(Digest.sha256(Array(verifier.utf8))).utf8), Array(record.codeChallenge.utf8))
        else {
            throw OAuthError.invalidGrant("AADSTS501481: The code_verifier does not match the code_challenge of the authorization request.")
        }
        guard let user = try await directory.users.get(objectId: record.userObjectId) else { throw invalid }
        let resource = try tokens.resourceScope(scope.flatMap { $0.isEmpty ? nil : $0 } ?? record.scope)
        return try await grant(user, client: client, resource: resource, family: nil, nonce: record.nonce)
    }
}
