import AsyncHTTPClient
import CoffreAuth
import CoffreCertificates
import CoffreCore
import CoffreCrypto
import CoffreHTTP
import CoffreModel
import CoffreStorage
import CoffreStorageSQLite
import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOHTTP1
import NIOSSL
import ServiceLifecycle

/// The composition root: from a configuration and unsealed state to services, the HTTP responder and the
/// background work.
public struct CoffreServer: Sendable {
    public let configuration: ServerConfiguration
    public let state: UnsealedState
    public let services: CoffreServices
    public let addressing: Addressing
    public let clock: any WallClock
    public let sweeper: PurgeSweeper
    public let rotation: KeyRotationService

    /// - Parameter audit: where audit records go (default: the configured file).
    public init(
        configuration: ServerConfiguration, state: UnsealedState, rootKey: [UInt8], clock: any WallClock, audit: any AuditSink,
        fetchJWKS: @escaping @Sendable (String) async throws -> [UInt8] = CoffreServer.fetch
    ) async throws {
        self.configuration = configuration
        self.state = state
        self.clock = clock
        let storage = state.storage
        let addressing = Addressing(
            vaultZones: configuration.vaultZones, hsmZones: configuration.hsmZones, publicPort: configuration.effectivePublicPort,
            defaultVault: try VaultName(configuration.defaultVault), authority: configuration.authority)
        self.addressing = addressing
        let principals = PrincipalDirectory(storage: storage, clock: clock)
        let tokens = TokenService(
            tenantId: state.identity.tenantId, issuer: "\(configuration.authority)/\(state.identity.tenantId)/v2.0",
            audiences: addressing.resources, principals: principals, keyring: try await SigningKeyring(storage: storage, clock: clock),
            clock: clock)
        let external = try configuration.trustedIssuers.map { trusted in
            TrustedIssuer(
                issuer: trusted.issuer, audiences: Set(trusted.audiences.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }),
                tenantId: trusted.tenantId, keys: try Self.keys(of: trusted, clock: clock, fetch: fetchJWKS))
        }
        let secrets = SecretService(storage: storage, clock: clock, backups: BackupCodec(key: state.backupKey))
        let keys = KeyService(storage: storage, clock: clock, backups: BackupCodec(key: state.backupKey))
        self.services = CoffreServices(
            vaults: VaultDirectory(storage: storage, clock: clock), secrets: secrets, keys: keys, principals: principals,
            roleAssignments: RoleAssignments(storage: storage, clock: clock), tokens: tokens,
            verifier: TokenVerifier(issuers: [tokens.trustedIssuer] + external), authorizer: Authorizer(), audit: audit, clock: clock,
            managedIdentity: (Array(DataDirectory.managedIdentityHeader(rootKey: rootKey).utf8), state.identity.adminClientId),
            operations: ServerOperations(
                rotateKeyring: { try await storage.rotate(now: clock.now) }, rewrap: { try await storage.rewrap() },
                terms: { storage.termNumbers }, backup: { try await ServerBackup.create(from: storage.backend, rootKey: rootKey).file },
                ping: { _ = try await storage.backend.get(Keyring.storageKey) }))
        self.sweeper = PurgeSweeper(storage: storage, clock: clock, secrets: secrets, keys: keys)
        self.rotation = KeyRotationService(keys: keys, vaults: services.vaults, clock: clock) { vault, name, version, expires in
            // Key Vault sends this to Event Grid; Coffre writes it to the audit log.
            let id = addressing.vaultURL(vault) + "/keys/\(name)/\(version)"
            try? audit.record(
                AuditEvent(
                    time: Date(), resourceId: "/vaults/\(vault)", operationName: "KeyNearExpiryEventGridNotification",
                    operationVersion: nil, status: 200, reason: "OK",
                    description: expires.map { "The key expires at \($0) (seconds since 1970)." } ?? "", durationMs: 0,
                    callerIpAddress: nil, correlationId: nil, caller: nil,
                    properties: .init(
                        id: id, requestUri: id, httpStatusCode: 200, clientInfo: "coffre-key-rotation", requestId: "",
                        isAccessPolicyMatch: nil, isRbacAuthorized: nil)))
        }
    }

    /// A JWKS file is read once; a URL is fetched when needed.
    static func keys(
        of trusted: TrustedIssuerConfiguration, clock: any WallClock, fetch: @escaping @Sendable (String) async throws -> [UInt8]
    ) throws -> any IssuerKeys {
        if trusted.jwks.hasPrefix("https://") || trusted.jwks.hasPrefix("http://") {
            let url = trusted.jwks
            return RemoteIssuerKeys(clock: clock) { try await fetch(url) }
        }
        guard let data = FileManager.default.contents(atPath: trusted.jwks) else {
            throw CoffreError.badParameter("Cannot read the JWKS file \(trusted.jwks) of trusted issuer \(trusted.issuer).")
        }
        return StaticIssuerKeys(try JWKSet.parse(Array(data)).verificationKeys)
    }

    /// Fetches a JWKS document over HTTPS with the system's trust store.
    public static let fetch: @Sendable (String) async throws -> [UInt8] = { url in
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(10))
        guard response.status.code == 200 else {
            throw CoffreError.unavailable("The JWKS at \(url) answered \(response.status.code).")
        }
        return Array(buffer: try await response.body.collect(upTo: 1 << 20))
    }

    public var responder: CoffreResponder { CoffreResponder(services: services, addressing: addressing) }

    /// The names the TLS certificate covers.
    public var tlsNames: (dns: [String], ip: [String]) {
        let zones = configuration.vaultZones + configuration.hsmZones
        let dns = ["localhost", configuration.authorityHost] + zones + zones.map { "*.\($0)" }
        var unique: [String] = []
        for name in dns where !unique.contains(name) { unique.append(name) }
        return (unique, ["127.0.0.1", "::1"])
    }

}

/// Runs `work` every `interval` until the service group shuts down; failures are logged and retried next time.
struct PeriodicService: Service {
    let name: String
    let interval: Duration
    let logger: Logger
    let work: @Sendable () async throws -> Void

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    try await work()
                } catch {
                    logger.warning("background task failed", metadata: ["task": "\(name)", "error": "\(type(of: error))"])
                }
                try? await Task.sleep(for: interval)
            }
        }
    }
}
