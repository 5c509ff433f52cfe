import CoffreCrypto
import CoffreDirectory
import CoffreModel
import CoffreStorage
import Foundation

/// An application that signs people in without a secret of its own (a command line, a browser page): the Azure CLI's
/// well-known client id, or a principal registered with redirect URIs.
public struct PublicClient: Sendable, Equatable {
    public var clientId: String
    public var displayName: String
    /// Exact redirect URIs of the authorization-code flow; `http://localhost` and `http://127.0.0.1` allow any port
    /// (RFC 8252 §7.3).
    public var redirectURIs: [String]

    /// The Azure CLI (and azure-identity's developer credentials, which use its id).
    public static let azureCLI = PublicClient(
        clientId: "04b07795-8ddb-461a-bbee-02f9e1bf7b46", displayName: "Microsoft Azure CLI", redirectURIs: ["http://localhost"])

    /// Whether `uri` is one of this client's redirect URIs.
    public func allows(redirectURI uri: String) -> Bool {
        if redirectURIs.contains(uri) { return true }
        for loopback in ["http://localhost", "http://127.0.0.1"] where redirectURIs.contains(loopback) {
            guard uri.hasPrefix(loopback) else { continue }
            let rest = uri.dropFirst(loopback.count)
            if rest.isEmpty || rest.hasPrefix("/") { return true }
            if rest.hasPrefix(":") {
                let port = rest.dropFirst().prefix { $0.isNumber }
                let after = rest.dropFirst(1 + port.count)
                if !port.isEmpty, after.isEmpty || after.hasPrefix("/") { return true }
            }
        }
        return false
    }
}

/// What a person's sign-in yields, as MSAL expects it: an access token, a rotating refresh token, an id token for the
/// client and `client_info` (`base64url({"uid","utid"})`, MSAL's account key).
public struct UserGrant: Sendable {
    public var access: IssuedToken
    /// The scope granted, as the client asked for the resource (`https://management.localhost:8443//.default`).
    public var scope: String
    public var refreshToken: String
    public var idToken: String
    public var clientInfo: String
}

/// What starting a device-code sign-in answers (RFC 8628 §3.2).
public struct DeviceCodeStart: Sendable {
    public var deviceCode: String
    public var userCode: String
    public var expiresIn: Int64
    public var interval: Int64
}

/// People signing in: with a password (ROPC), by device code (approved on Coffre's verification page), by an
/// authorization code, and by refresh token. Every grant is refused for a client that is not a known public client;
/// tokens carry the person's current groups.
public struct UserSignIn: Sendable {
    let tokens: TokenService
    let directory: Directory
    /// Sealed storage for sign-in state (`sts/…`): device flows, refresh tokens, sessions.
    let storage: any StorageBackend
    let clock: any WallClock
    let publicClients: [PublicClient]

    public init(
        tokens: TokenService, directory: Directory, storage: any StorageBackend, clock: any WallClock,
        publicClients: [PublicClient] = [.azureCLI]
    ) {
        self.tokens = tokens
        self.directory = directory
        self.storage = storage
        self.clock = clock
        self.publicClients = publicClients
    }

    public func publicClient(_ clientId: String?) throws -> PublicClient {
        guard let clientId, let client = publicClients.first(where: { $0.clientId == clientId.lowercased() }) else {
            throw OAuthError.unauthorizedClient(
                "AADSTS700016: Application with identifier '\(clientId ?? "")' was not found in the directory '\(tokens.tenantId)' "
                    + "as a public client.")
        }
        return client
    }

    // MARK: - Password (ROPC)

    /// `grant_type=password`: the person's name and password, sent by a public client.
    public func password(tenant: String, clientId: String?, username: String, password: String, scope: String) async throws -> UserGrant {
        try tokens.checkTenant(tenant)
        let client = try publicClient(clientId)
        let resource = try tokens.resourceScope(scope)
        guard let user = try await directory.users.authenticate(userPrincipalName: username, password: password) else {
            throw OAuthError.invalidGrant("AADSTS50126: Error validating credentials due to invalid username or password.")
        }
        return try await grant(user, client: client, resource: resource, family: nil, nonce: nil)
    }

    // MARK: - Refresh tokens

    /// `grant_type=refresh_token`: a new access token (for any resource served here), and the next refresh token.
    public func refresh(tenant: String, clientId: String?, refreshToken: String, scope: String) async throws -> UserGrant {
        try tokens.checkTenant(tenant)
        let client = try publicClient(clientId)
        let resource = try tokens.resourceScope(scope)
        let invalid = OAuthError.invalidGrant("AADSTS70000: The refresh token is invalid, expired or revoked. Sign in again.")
        guard let presented = RefreshToken(parsing: refreshToken) else { throw invalid }
        let next = RefreshToken.new(userObjectId: presented.userObjectId, family: presented.family)
        let now = clock.now
        let outcome: RefreshFamily.Redemption = try await storage.transaction { transaction in
            guard let family = try await transaction.read(RefreshFamily.self, at: presented.key), family.clientId == client.clientId else {
                return .refused
            }
            let outcome = family.redeem(presented.hash, next: next.hash, at: now)
            switch outcome {
            case .accepted(let updated): try await transaction.write(updated, at: presented.key)
            case .replayed: try await transaction.delete(presented.key)
            case .refused: break
            }
            return outcome
        }
        guard case .accepted = outcome, let user = try await directory.users.get(objectId: presented.userObjectId) else { throw invalid }
        return try await grant(user, client: client, resource: resource, family: next, nonce: nil)
    }

    // MARK: - Device code

    /// Starts a device-code sign-in for a public client.
    public func startDeviceFlow(tenant: String, clientId: String?, scope: String) async throws -> DeviceCodeStart {
        try tokens.checkTenant(tenant)
        let client = try publicClient(clientId)
        _ = try tokens.resourceScope(scope)
        let deviceCode = Base64.urlEncoded(SecureRandom.bytes(32))
        let now = clock.now
        let flow = DeviceAuthorization(
            clientId: client.clientId, scope: scope, userCode: DeviceAuthorization.newUserCode(), created: now,
            expires: now + DeviceAuthorization.lifetime, state: .pending)
        let key = Self.deviceKey(deviceCode)
        try await storage.transaction { transaction in
            guard try await transaction.get(Self.userCodeKey(flow.userCode)) == nil else {
                throw OAuthError.temporarilyUnavailable("The user code drawn is in use: try again.")
            }
            try await transaction.write(flow, at: key)
            try await transaction.write(key, at: Self.userCodeKey(flow.userCode))
        }
        return DeviceCodeStart(
            deviceCode: deviceCode, userCode: flow.userCode, expiresIn: DeviceAuthorization.lifetime, interval: DeviceAuthorization.interval)
    }

    /// A poll with the device code: `authorization_pending` until the person answers, then tokens once.
    public func pollDeviceFlow(tenant: String, clientId: String?, deviceCode: String) async throws -> UserGrant {
        try tokens.checkTenant(tenant)
        let client = try publicClient(clientId)
        let key = Self.deviceKey(deviceCode)
        let now = clock.now
        let (flow, poll): (DeviceAuthorization?, DeviceAuthorization.Poll?) = try await storage.transaction { transaction in
            guard let flow = try await transaction.read(DeviceAuthorization.self, at: key), flow.clientId == client.clientId else {
                return (nil, nil)
            }
            let poll = flow.poll(at: now)
            if poll != .pending {
                try await transaction.delete(key)
                try await transaction.delete(Self.userCodeKey(flow.userCode))
            }
            return (flow, poll)
        }
        guard let flow, let poll else {
            throw OAuthError.invalidGrant("AADSTS70000: The device code is unknown, or was already used.")
        }
        switch poll {
        case .pending:
            throw OAuthError(code: "authorization_pending", description: "AADSTS70016: The user has not yet approved the sign-in.", status: 400)
        case .expired:
            throw OAuthError(code: "expired_token", description: "AADSTS70020: The device code expired: start again.", status: 400)
        case .denied:
            throw OAuthError(code: "access_denied", description: "AADSTS70021: The user denied the sign-in.", status: 400)
        case .redeem(let userId):
            guard let user = try await directory.users.get(objectId: userId) else {
                throw OAuthError.invalidGrant("AADSTS50034: The user account does not exist any more.")
            }
            return try await grant(user, client: client, resource: try tokens.resourceScope(flow.scope), family: nil, nonce: nil)
        }
    }

    /// What the verification page shows before the person approves: which application asks, for what.
    public struct PendingDeviceFlow: Sendable {
        public var userCode: String
        public var client: PublicClient
        public var resource: String
    }

    /// The pending flow a typed user code names, or nil.
    public func pendingDeviceFlow(userCode: String) async throws -> PendingDeviceFlow? {
        guard let code = DeviceAuthorization.normalized(userCode: userCode),
            let key = try await storage.read(String.self, at: Self.userCodeKey(code)),
            let flow = try await storage.read(DeviceAuthorization.self, at: key), flow.state == .pending, clock.now < flow.expires,
            let client = publicClients.first(where: { $0.clientId == flow.clientId })
        else { return nil }
        return PendingDeviceFlow(userCode: code, client: client, resource: (try? tokens.resourceScope(flow.scope).resource) ?? "")
    }

    /// The signed-in person's answer for a user code; false when the code no longer waits for one.
    public func answerDeviceFlow(userCode: String, user: UserRecord, approve: Bool) async throws -> Bool {
        guard let code = DeviceAuthorization.normalized(userCode: userCode) else { return false }
        let now = clock.now
        return try await storage.transaction { transaction in
            guard let key = try await transaction.read(String.self, at: Self.userCodeKey(code)),
                let flow = try await transaction.read(DeviceAuthorization.self, at: key),
                let answered = flow.answered(approve: approve, user: user.objectId, at: now)
            else { return false }
            try await transaction.write(answered, at: key)
            return true
        }
    }

    static func deviceKey(_ deviceCode: String) -> String { "sts/device/" + Hex.encode(Digest.sha256(Array(deviceCode.utf8))) }
    static func userCodeKey(_ userCode: String) -> String { "sts/user-codes/" + userCode }

    // MARK: - Tokens for a person

    /// The tokens of a sign-in: a new refresh-token family, or the next token of `family`.
    func grant(_ user: UserRecord, client: PublicClient, resource: TokenService.ResourceScope, family: RefreshToken?, nonce: String?)
        async throws -> UserGrant
    {
        let refresh = family ?? RefreshToken.new(userObjectId: user.objectId, family: SecureRandom.uuid())
        if family == nil {
            let now = clock.now
            let record = RefreshFamily(
                clientId: client.clientId, created: now, expires: now + RefreshFamily.lifetime,
                tokens: [.init(hash: refresh.hash, issued: now, retired: nil)])
            try await storage.transaction { try await $0.write(record, at: refresh.key) }
        }
        let access = try await tokens.issue(forUser: user, clientId: client.clientId, resource: resource.resource)
        let idToken = try tokens.idToken(for: user, clientId: client.clientId, nonce: nonce)
        let clientInfo = Base64.urlEncoded(Array("{\"uid\":\"\(user.objectId)\",\"utid\":\"\(tokens.tenantId)\"}".utf8))
        return UserGrant(access: access, scope: resource.scope, refreshToken: refresh.text, idToken: idToken, clientInfo: clientInfo)
    }
}
