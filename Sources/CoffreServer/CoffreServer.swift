import CoffreAuth
import CoffreCertificates
import CoffreCrypto
import CoffreCore
import CoffreHTTP
import CoffreModel
import CoffreStorage
import CoffreStorageSQLite
import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
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

    public init(configuration: ServerConfiguration, state: UnsealedState, rootKey: [UInt8], clock: any WallClock) throws {
        self.configuration = configuration
        self.state = state
        self.clock = clock
        let storage = state.storage
        let addressing = Addressing(
            vaultZones: configuration.vaultZones, hsmZones: configuration.hsmZones, publicPort: configuration.effectivePublicPort,
            defaultVault: try VaultName(configuration.defaultVault), authority: configuration.authority)
        self.addressing = addressing
        let principals = PrincipalDirectory(storage: storage, clock: clock)
        let signingKeys = state.signingKeys
        guard let signingKey = signingKeys.last else { throw CoffreError.unavailable("no token-signing key") }
        let tokens = try TokenService(
            tenantId: state.identity.tenantId, issuer: "\(configuration.authority)/\(state.identity.tenantId)/v2.0",
            audiences: addressing.resources, principals: principals, signingKey: signingKey, clock: clock)
        let verifier = TokenVerifier(issuers: [
            TrustedIssuer(
                issuer: tokens.issuer,
                keys: Dictionary(
                    uniqueKeysWithValues: try signingKeys.map {
                        ($0.kid, try RSASigningKey(derRepresentation: $0.privateKeyDER).publicKey)
                    }))
        ])
        let secrets = SecretService(storage: storage, clock: clock, backups: BackupCodec(key: state.backupKey))
        self.services = CoffreServices(
            vaults: VaultDirectory(storage: storage, clock: clock), secrets: secrets, principals: principals, tokens: tokens,
            verifier: verifier, authorizer: Authorizer(), clock: clock, signingKeys: { signingKeys },
            managedIdentity: (Array(DataDirectory.managedIdentityHeader(rootKey: rootKey).utf8), state.identity.adminClientId))
        self.sweeper = PurgeSweeper(storage: storage, clock: clock, secrets: secrets)
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

    /// The HTTPS application with the purge sweeper as a background service.
    public func application(logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void = { _ in }) throws
        -> some ApplicationProtocol
    {
        let names = tlsNames
        let issued = try state.certificateAuthority.issueServerCertificate(dnsNames: names.dns, ipAddresses: names.ip)
        var tls = TLSConfiguration.makeServerConfiguration(
            certificateChain: try NIOSSLCertificate.fromPEMBytes(Array(issued.certificatePEM.utf8)).map { .certificate($0) },
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(issued.privateKeyPEM.utf8), format: .pem)))
        tls.applicationProtocols = ["http/1.1"]
        tls.minimumTLSVersion = .tlsv12
        return Application(
            responder: responder,
            server: try .tls(.http1(), tlsConfiguration: tls),
            configuration: .init(address: .hostname(configuration.bind, port: configuration.port), serverName: "Coffre"),
            services: [PeriodicService(name: "purge", interval: .seconds(60), logger: logger) { try await sweeper.sweep() }],
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
    }
}

extension CoffreServer {
    /// Serves until SIGTERM or SIGINT, then finishes in-flight requests and stops.
    public func run(logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void) async throws {
        try await application(logger: logger, onServerRunning: onServerRunning).runService()
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
