import CoffreAuth
import CoffreCertificates
import CoffreCore
import CoffreCrypto
import CoffreHTTP
import CoffreKeyCustody
import CoffreModel
import CoffreStorage
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOSSL
import ServiceLifecycle
import Synchronization

/// A running server from start to stop: it may start sealed (Shamir shares) and then unseal, after which the full
/// services answer. Background work runs only while unsealed.
public final class ServerRuntime: Sendable {
    public let configuration: ServerConfiguration
    /// nil for an ephemeral server (nothing on disk).
    public let directory: DataDirectory?
    public let backend: any StorageBackend
    public let clock: any WallClock
    public let audit: any AuditSink
    public let gate: GatedResponder
    public let metrics = MetricsRegistry()
    /// The PKCS#11 token that keeps `-HSM` keys (opened and checked before the server starts), if configured.
    public let hardware: PKCS11Custody?
    fileprivate let seal: Mutex<SealStateMachine<CoffreServer>>

    public init(
        configuration: ServerConfiguration, directory: DataDirectory?, backend: any StorageBackend, clock: any WallClock, audit: any AuditSink,
        hardware: PKCS11Custody? = nil
    ) {
        self.configuration = configuration
        self.hardware = hardware
        self.directory = directory
        self.backend = InstrumentedStorage(backend, metrics: metrics)
        self.clock = clock
        self.audit = audit
        self.gate = GatedResponder(metrics: metrics)
        self.seal = Mutex(SealStateMachine(threshold: configuration.seal?.threshold ?? 2))
        if configuration.seal?.type == SealSettings.shamir {
            gate.setUnsealer(ShareCollector(runtime: self))
        }
    }

    /// The unsealed server, if any.
    public var current: CoffreServer? { seal.withLock { $0.server } }

    /// Opens the barrier with the root key and starts answering with the full services (once: an unsealed server
    /// stays as it is; while another attempt runs, this one fails with a conflict).
    @discardableResult
    public func unseal(rootKey: [UInt8]) async throws -> CoffreServer {
        switch seal.withLock({ $0.begin() }) {
        case .unsealed(let server): return server
        case .busy: throw CoffreError.conflict("Coffre is being unsealed by another attempt.")
        case .unseal: return try await attemptUnseal { rootKey }
        }
    }

    /// Runs the unseal attempt the seal machine began: the root key from `rootKey`, then the barrier and the services;
    /// reports the outcome to the machine.
    @discardableResult
    fileprivate func attemptUnseal(_ rootKey: () async throws -> [UInt8]) async throws -> CoffreServer {
        do {
            let rootKey = try await rootKey()
            let state = try await Bootstrap.open(backend, rootKey: rootKey, configuration: configuration, clock: clock)
            let unsealed = try await CoffreServer(
                configuration: configuration, state: state, rootKey: rootKey, clock: clock, audit: audit, metrics: metrics, hardware: hardware)
            seal.withLock { $0.succeeded(unsealed) }
            gate.open(unsealed.responder)
            return unsealed
        } catch {
            seal.withLock { $0.failed() }
            throw error
        }
    }

    /// The TLS configuration: the operator's files when configured, else a certificate issued now by Coffre's CA
    /// (which needs the server unsealed).
    public func tlsConfiguration() throws -> TLSConfiguration {
        let chain: [NIOSSLCertificate]
        let key: NIOSSLPrivateKey
        if let certificateFile = configuration.tlsCertificateFile, let keyFile = configuration.tlsKeyFile {
            chain = try NIOSSLCertificate.fromPEMFile(certificateFile)
            key = try NIOSSLPrivateKey(file: keyFile, format: .pem)
        } else if let current {
            let names = current.tlsNames
            let issued = try current.state.certificateAuthority.issueServerCertificate(dnsNames: names.dns, ipAddresses: names.ip)
            chain = try NIOSSLCertificate.fromPEMBytes(Array(issued.certificatePEM.utf8))
            key = try NIOSSLPrivateKey(bytes: Array(issued.privateKeyPEM.utf8), format: .pem)
        } else {
            throw CoffreError.badParameter(
                "A server that starts sealed needs its TLS certificate and key files (--tls-certificate, --tls-key; "
                    + "`coffre operator init` writes them).")
        }
        var tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(key))
        tls.applicationProtocols = ["http/1.1"]
        // Idle clients rarely answer close_notify: do not hold a graceful shutdown for them (NIOSSL waits 5 s by default).
        tls.shutdownTimeout = .milliseconds(200)
        return ProcessHardening.modern(tls)
    }

    /// Serves until SIGTERM or SIGINT, then finishes in-flight requests and stops. With `autoUnseal`, a sealed server
    /// asks for its root key every 5 seconds until it gets it (the other vault may start later).
    public func run(
        logger: Logger, autoUnseal: (@Sendable () async throws -> [UInt8])? = nil, onServerRunning: @escaping @Sendable (Int) async -> Void
    ) async throws {
        var background: [any Service] = []
        if let autoUnseal {
            background.append(
                PeriodicService(name: "auto-unseal", interval: .seconds(5), logger: logger) { [self] in
                    // A failure (the other vault unreachable, or refusing) leaves the server sealed until the next try.
                    guard case .unseal = seal.withLock({ $0.begin() }) else { return }
                    try await attemptUnseal(autoUnseal)
                    logger.notice("unsealed by the other key vault")
                })
        }
        let connections = ConnectionLimits(configuration: configuration, logger: logger)
        // In development mode a change of time travel wakes the services that act on time.
        var timeTravel: (@Sendable () -> Int)?
        if configuration.development {
            timeTravel = { @Sendable [self] in current?.services.development?.clock.generation ?? 0 }
        }
        let app = Application(
            responder: gate,
            server: try .tls(.http1(configuration: connections.http1), tlsConfiguration: try tlsConfiguration()),
            configuration: .init(
                address: .hostname(configuration.bind, port: configuration.port), serverName: "Coffre",
                availableConnectionsDelegate: MaximumAvailableConnections(connections.maximumConnections)),
            services: background + [
                PeriodicService(name: "purge", interval: .seconds(60), logger: logger, wake: timeTravel) { [self] in
                    try await current?.sweeper.sweep()
                },
                PeriodicService(name: "key-rotation", interval: .seconds(60), logger: logger, wake: timeTravel) { [self] in
                    try await current?.rotation.sweep()
                },
                PeriodicService(name: "certificate-lifetime", interval: .seconds(60), logger: logger, wake: timeTravel) { [self] in
                    try await current?.lifecycle.sweep()
                },
                PeriodicService(name: "storage-key-regeneration", interval: .seconds(60), logger: logger, wake: timeTravel) { [self] in
                    try await current?.storageKeys.sweep()
                },
                PeriodicService(name: "signing-keys", interval: .seconds(60), logger: logger) { [self] in
                    try await current?.services.tokens.keyring.refresh()
                },
                PeriodicService(name: "metrics-history", interval: .seconds(5), logger: logger) { [self] in metrics.sample(at: clock.now) },
                PeriodicService(name: "sign-in-sweep", interval: .seconds(300), logger: logger) { [self] in
                    try await current?.services.signIn.sweep()
                },
                JobRunnerService { [self] in current?.managedHSMJobs },
                JobRunnerService { [self] in current?.managedHSMBackupJobs },
                PeriodicService(name: "custody-sweep", interval: .seconds(300), logger: logger) { [self] in
                    try await current?.custodySweeper?.sweep()
                },
            ],
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
        try await app.runService()
    }
}

/// Runs a job store once the server is unsealed (the store exists from then on), until the service group stops.
struct JobRunnerService<Output: Codable & Sendable & Equatable>: Service {
    let store: @Sendable () -> JobStore<Output>?

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                if let jobs = store() {
                    await jobs.run()
                    return
                }
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }
}

/// Gives key shares to the runtime's seal machine; when they are enough, combines them and unseals.
final class ShareCollector: Unsealer {
    let runtime: ServerRuntime

    init(runtime: ServerRuntime) { self.runtime = runtime }

    var status: SealStatus {
        runtime.seal.withLock { SealStatus(sealed: $0.server == nil, type: SealSettings.shamir, threshold: $0.threshold, progress: $0.progress) }
    }

    func submit(share: [UInt8]) async throws -> SealStatus {
        switch runtime.seal.withLock({ $0.receive(share: share) }) {
        case .answerProgress, .unsealed:
            return status
        case .refuse(let reason):
            throw CoffreError.badParameter(reason)
        case .busy:
            throw CoffreError.conflict("Coffre is being unsealed with the shares given; submit this share again if that fails.")
        case .unseal(let shares):
            do {
                try await runtime.attemptUnseal { try Shamir.combine(shares) }
            } catch {
                throw CoffreError.badParameter("These key shares do not rebuild the root key: unsealing failed. Submit the shares again.")
            }
            return status
        }
    }
}
