import AsyncHTTPClient
import CoffreAuth
import CoffreBlob
import CoffreCertificates
import CoffreCore
import CoffreCrypto
import CoffreDirectory
import CoffreHTTP
import CoffreKeyCustody
import CoffreModel
import CoffreStorage
import CoffreStorageSQLite
import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import NIOCore
import NIOFoundationCompat
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
    public let lifecycle: CertificateLifecycleService
    /// The jobs completing Managed HSM activations: run them (``JobStore/run()``) once the server is unsealed.
    public let managedHSMJobs: JobStore<ManagedHSMActivations.Outcome>
    /// The Managed HSM backup and restore jobs: run them as well.
    public let managedHSMBackupJobs: JobStore<ManagedHSMBackups.Outcome>
    /// Regenerates managed storage accounts' keys when due: sweep it periodically.
    public let storageKeys: StorageKeyRegenerationService
    /// Destroys token objects nothing refers to any more (with a PKCS#11 token).
    public let custodySweeper: CustodySweeper?

    /// - Parameters:
    ///   - audit: where audit records go (default: the configured file).
    ///   - hardware: the PKCS#11 token that keeps `-HSM` keys (opened and checked at start), if configured.
    public init(
        configuration: ServerConfiguration, state: UnsealedState, rootKey: [UInt8], clock: any WallClock, audit: any AuditSink,
        metrics: MetricsRegistry = MetricsRegistry(), hardware: PKCS11Custody? = nil,
        fetchJWKS: @escaping @Sendable (String) async throws -> [UInt8] = CoffreServer.fetch
    ) async throws {
        self.configuration = configuration
        self.state = state
        self.clock = clock
        let storage = state.storage
        // With SQLite this process is the only writer and may answer hot records from memory; with PostgreSQL other
        // nodes write too, so requests read the database and only the decoding of unchanged records is saved, except
        // for vaults, principals and roles, whose changes every node hears (milliseconds after they commit).
        let records = RecordCache(storage, writers: configuration.postgresURL == nil ? .thisProcess : .shared)
        let addressing = Addressing(
            vaultZones: configuration.vaultZones, hsmZones: configuration.hsmZones, blobZones: configuration.blobZones,
            publicPort: configuration.effectivePublicPort,
            defaultVault: try VaultName(configuration.defaultVault), authority: configuration.authority)
        self.addressing = addressing
        let directory = Directory(storage: records, clock: clock)
        let tokens = TokenService(
            tenantId: state.identity.tenantId, issuer: "\(configuration.authority)/\(state.identity.tenantId)/v2.0",
            audiences: addressing.tokenAudiences, directory: directory,
            keyring: try await SigningKeyring(storage: records, clock: clock, algorithm: configuration.ephemeral ? "ES256" : "RS256"),
            clock: clock)
        let external = try configuration.trustedIssuers.map { trusted in
            TrustedIssuer(
                issuer: trusted.issuer, audiences: Set(trusted.audiences.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }),
                tenantId: trusted.tenantId, keys: try Self.keys(of: trusted, clock: clock, fetch: fetchJWKS))
        }
        // Vaults' time-driven behaviour follows this clock, which time travel moves in development mode; tokens, principals
        // and the server's own keys stay on real time.
        let development = configuration.development ? DevelopmentControls.dataPlane(clock: TimeTravelClock(base: clock)) : nil
        let vaultClock: any WallClock = development?.clock ?? clock
        let secrets = SecretService(storage: records, clock: vaultClock, backups: BackupCodec(key: state.backupKey))
        // Key release reads the keys of Coffre's own test attestation service in process.
        let testAttestation = TestAttestationService(base: addressing.testAttestationURL, storage: records, clock: clock)
        let fetchAttestationKeys: @Sendable (String) async throws -> [UInt8] = { url in
            guard testAttestation.publishesKeys(at: url) else { return try await fetchJWKS(url) }
            return Array(try JSONEncoder().encode(try await testAttestation.jwks()))
        }
        // This installation's objects in the token carry its tag, so that installations sharing a token stay apart.
        var owned: PKCS11Custody?
        if let hardware { owned = hardware.owned(by: try await CustodySweeper.installationTag(in: records)) }
        let custody = RoutingCustody(hardware: owned)
        let keys = KeyService(
            storage: records, clock: vaultClock, backups: BackupCodec(key: state.backupKey), custody: custody,
            metrics: metrics,
            release: KeyReleaseAuthority(
                attestation: AttestationVerifier(clock: clock, fetch: fetchAttestationKeys), signer: WireKeyReleaseSigner(keyring: tokens.keyring)))
        let platformAuthority = try CertificateService.PlatformAuthority(
            certificateDER: state.certificateAuthority.certificateDER, privateKeyPKCS8: state.certificateAuthority.privateKeyDER)
        let certificates = CertificateService(
            storage: records, clock: vaultClock, backups: BackupCodec(key: state.backupKey), keys: keys, secrets: secrets,
            platformAuthority: platformAuthority)
        let managedHSMJobs = JobStore<ManagedHSMActivations.Outcome>(storage: records, prefix: "jobs/hsm-activation/")
        self.managedHSMJobs = managedHSMJobs
        let managedHSMBackupJobs = JobStore<ManagedHSMBackups.Outcome>(storage: records, prefix: "jobs/hsm-backup/")
        self.managedHSMBackupJobs = managedHSMBackupJobs
        let blob = BlobService(storage: records, clock: clock, signatureClock: development?.clock)
        // Backups to Coffre's own storage accounts go to its Blob service in process; others over HTTPS.
        let blobTransport: @Sendable (String) -> any BlobTransport = { url in
            let host = URLComponents(string: url)?.host ?? ""
            if case .blob = addressing.target(forHost: host) { return BlobServiceTransport(service: blob) }
            return HTTPBlobTransport()
        }
        let authority = state.certificateAuthority
        let issuer = try CertificateIssuer(
            certificateDER: authority.certificateDER, key: SoftwareSigningKey(pkcs8DER: authority.privateKeyDER))
        let managedStorage = ManagedStorageService(
            storage: records, clock: vaultClock, backups: BackupCodec(key: state.backupKey), accounts: blob.accounts, principals: directory.principals
        )
        let vaults = VaultDirectory(storage: records, clock: vaultClock)
        let roleAssignments = RoleAssignments(storage: records, clock: clock)
        let groupExpansion = GroupExpansion(groups: directory.groups, ownIssuer: tokens.issuer)
        self.services = CoffreServices(
            vaults: vaults, secrets: secrets, keys: keys, certificates: certificates, directory: directory, groupExpansion: groupExpansion,
            roleAssignments: roleAssignments,
            resources: ResourceManager(
                storage: records, clock: vaultClock, vaults: vaults, roleAssignments: roleAssignments, storageAccounts: blob.accounts,
                managedHSMs: ManagedHSMDirectory(storage: records, clock: clock), principals: directory.principals,
                groups: groupExpansion, tenantId: state.identity.tenantId),
            tokens: tokens, signIn: UserSignIn(tokens: tokens, directory: directory, storage: records, clock: clock),
            verifier: TokenVerifier(issuers: [tokens.trustedIssuer] + external), authorizer: Authorizer(), audit: audit, clock: clock,
            managedIdentity: (Array(DataDirectory.managedIdentityHeader(rootKey: rootKey).utf8), state.identity.adminClientId),
            operations: ServerOperations(
                rotateKeyring: { try await storage.rotate(now: clock.now) }, rewrap: { try await storage.rewrap() },
                terms: { storage.termNumbers }, backup: { try await ServerBackup.create(from: storage.backend, rootKey: rootKey).file },
                ping: { _ = try await storage.backend.get(Keyring.storageKey) }), metrics: metrics,
            blob: blob,
            managedHSM: ManagedHSMServices(
                storage: records, clock: vaultClock, issuer: issuer, jobs: managedHSMJobs, backupJobs: managedHSMBackupJobs, keys: keys,
                blobTransport: blobTransport),
            storage: managedStorage, testAttestation: testAttestation,
            requestLimits: configuration.requestLimit.map { VaultRequestLimiter(limit: $0) }, development: development,
            seeding: VaultSeeding(
                storage: records, clock: vaultClock, backups: BackupCodec(key: state.backupKey), tenantId: state.identity.tenantId,
                custody: custody, platformAuthority: platformAuthority))
        self.sweeper = PurgeSweeper(
            storage: records, clock: vaultClock, secrets: secrets, keys: keys, certificates: certificates, managedStorage: managedStorage,
            vaults: vaults)
        self.custodySweeper = owned.map {
            CustodySweeper(hardware: $0, storage: records, keys: keys, certificates: certificates, clock: clock)
        }
        self.rotation = KeyRotationService(keys: keys, vaults: services.vaults, clock: vaultClock) { vault, name, version, expires in
            // Key Vault sends this to Event Grid; Coffre writes it to the audit log.
            try Self.recordNotification(
                "KeyNearExpiryEventGridNotification", id: addressing.vaultURL(vault) + "/keys/\(name)/\(version)", vault: vault,
                expires: expires, audit: audit)
        }
        self.storageKeys = StorageKeyRegenerationService(storage: managedStorage, vaults: services.vaults, clock: vaultClock) { vault, account, key in
            try Self.recordNotification(
                "StorageAccountAutoRegenerateKey", id: addressing.vaultURL(vault) + "/storage/\(account)", vault: vault, expires: nil,
                description: "Regenerated \(key), now the active key.", audit: audit)
        }
        let webhook = configuration.notificationWebhook
        self.lifecycle = CertificateLifecycleService(certificates: certificates, vaults: services.vaults, clock: vaultClock) { notification in
            let vault = (try? VaultName(notification.vault)) ?? addressing.defaultVault
            let id = addressing.vaultURL(vault) + "/certificates/\(notification.certificate)/\(notification.version)"
            try Self.recordNotification("CertificateNearExpiryEmailContacts", id: id, vault: vault, expires: notification.expires, audit: audit)
            // The webhook is a courtesy: the audit record is the notification (an unwritable log makes it retried).
            if let webhook { try? await Self.post(notification, to: webhook) }
        }
    }

    /// A lifetime action in the audit log (Coffre has neither Event Grid nor a mail server); throws when the log cannot
    /// be written, and a notification is made again at a later sweep.
    static func recordNotification(
        _ operation: String, id: String, vault: VaultName, expires: Int64?, description: String? = nil, audit: any AuditSink
    ) throws {
        try audit.record(
            AuditEvent(
                time: Date(), resourceId: "/vaults/\(vault)", operationName: operation, operationVersion: nil, status: 200, reason: "OK",
                description: description ?? expires.map { "Expires at \($0) (seconds since 1970)." } ?? "", durationMs: 0, callerIpAddress: nil,
                correlationId: nil, caller: nil,
                properties: .init(
                    id: id, requestUri: id, httpStatusCode: 200, clientInfo: "coffre-lifetime-actions", requestId: "", isAccessPolicyMatch: nil,
                    isRbacAuthorized: nil)))
    }

    /// POSTs a notification as JSON.
    static func post(_ notification: some Encodable, to url: String) async throws {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.body = .bytes(ByteBuffer(data: try JSONEncoder().encode(notification)))
        _ = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
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

    /// Loads every vault of a seed document (`coffre serve --seed`), each all or nothing, owned by the admin principal.
    public func seed(_ document: SeedDocument) async throws -> [SeedReport] {
        var reports: [SeedReport] = []
        for vault in document.vaults {
            guard let name = vault.name else { throw CoffreError.badParameter("Every vault of a seed file needs a name.") }
            reports.append(
                try await services.administration.importVault(
                    vault, into: try VaultName(name), ownerTenantId: state.identity.tenantId, ownerObjectId: state.identity.adminObjectId))
        }
        return reports
    }

    /// The names the TLS certificate covers.
    public var tlsNames: (dns: [String], ip: [String]) {
        let zones = configuration.vaultZones + configuration.hsmZones + configuration.blobZones
        let dns = ["localhost", configuration.authorityHost] + zones + zones.map { "*.\($0)" }
        var unique: [String] = []
        for name in dns where !unique.contains(name) { unique.append(name) }
        return (unique, ["127.0.0.1", "::1"])
    }

}

/// Runs `work` every `interval` until the service group shuts down; failures are logged and retried next time. With
/// `wake` (development mode: time travel's change counter), a change runs `work` again at once.
struct PeriodicService: Service {
    let name: String
    let interval: Duration
    let logger: Logger
    var wake: (@Sendable () -> Int)? = nil
    let work: @Sendable () async throws -> Void

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                let seen = wake?()
                do {
                    try await work()
                } catch {
                    logger.warning("background task failed", metadata: ["task": "\(name)", "error": "\(type(of: error))"])
                }
                await pause(sinceChange: seen)
            }
        }
    }

    /// Sleeps `interval`, or less when `wake` reports a change since `seen`.
    private func pause(sinceChange seen: Int?) async {
        guard let wake, let seen else {
            try? await Task.sleep(for: interval)
            return
        }
        let deadline = ContinuousClock.now + interval
        while ContinuousClock.now < deadline, wake() == seen, !Task.isCancelled {
            try? await Task.sleep(for: .milliseconds(100))
        }
    }
}
