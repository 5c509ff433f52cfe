import CoffreAuth
import CoffreCertificates
import CoffreCore
import CoffreCrypto
import CoffreHTTP
import CoffreModel
import CoffreStorage
import Foundation
import Hummingbird
import HummingbirdTLS
import Logging
import NIOSSL
import ServiceLifecycle
import Synchronization

/// A running server from start to stop: it may start sealed (Shamir shares) and then unseal, after which the full
/// services answer. Background work runs only while unsealed.
public final class ServerRuntime: Sendable {
    public let configuration: ServerConfiguration
    public let directory: DataDirectory
    public let backend: any StorageBackend
    public let clock: any WallClock
    public let audit: any AuditSink
    public let gate: GatedResponder
    private let server = Mutex<CoffreServer?>(nil)

    public init(
        configuration: ServerConfiguration, directory: DataDirectory, backend: any StorageBackend, clock: any WallClock, audit: any AuditSink
    ) {
        self.configuration = configuration
        self.directory = directory
        self.backend = backend
        self.clock = clock
        self.audit = audit
        self.gate = GatedResponder()
        if configuration.seal?.type == SealSettings.shamir {
            gate.setUnsealer(ShareCollector(threshold: configuration.seal?.threshold ?? 2, runtime: self))
        }
    }

    /// The unsealed server, if any.
    public var current: CoffreServer? { server.withLock { $0 } }

    /// Opens the barrier with the root key and starts answering with the full services.
    @discardableResult
    public func unseal(rootKey: [UInt8]) async throws -> CoffreServer {
        if let current { return current }
        let state = try await Bootstrap.open(backend, rootKey: rootKey, configuration: configuration, clock: clock)
        let unsealed = try await CoffreServer(
            configuration: configuration, state: state, rootKey: rootKey, clock: clock, audit: audit)
        server.withLock { $0 = unsealed }
        gate.open(unsealed.responder)
        return unsealed
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
        tls.minimumTLSVersion = .tlsv12
        return tls
    }

    /// Serves until SIGTERM or SIGINT, then finishes in-flight requests and stops.
    public func run(logger: Logger, onServerRunning: @escaping @Sendable (Int) async -> Void) async throws {
        let app = Application(
            responder: gate,
            server: try .tls(.http1(), tlsConfiguration: try tlsConfiguration()),
            configuration: .init(address: .hostname(configuration.bind, port: configuration.port), serverName: "Coffre"),
            services: [
                PeriodicService(name: "purge", interval: .seconds(60), logger: logger) { [self] in
                    try await current?.sweeper.sweep()
                },
                PeriodicService(name: "key-rotation", interval: .seconds(60), logger: logger) { [self] in
                    try await current?.rotation.sweep()
                },
                PeriodicService(name: "signing-keys", interval: .seconds(60), logger: logger) { [self] in
                    try await current?.services.tokens.keyring.refresh()
                },
            ],
            onServerRunning: { channel in await onServerRunning(channel.localAddress?.port ?? 0) },
            logger: logger)
        try await app.runService()
    }
}

/// Collects key shares until the threshold, then unseals. A wrong set of shares is refused and forgotten.
final class ShareCollector: Unsealer {
    let threshold: Int
    let runtime: ServerRuntime
    private let shares = Mutex<[[UInt8]]>([])

    init(threshold: Int, runtime: ServerRuntime) {
        self.threshold = threshold
        self.runtime = runtime
    }

    var status: SealStatus {
        SealStatus(sealed: runtime.current == nil, type: SealSettings.shamir, threshold: threshold, progress: shares.withLock { $0.count })
    }

    func submit(share: [UInt8]) async throws -> SealStatus {
        guard runtime.current == nil else { return status }
        let collected = shares.withLock { shares -> [[UInt8]]? in
            if !shares.contains(share) { shares.append(share) }
            return shares.count >= threshold ? shares : nil
        }
        guard let collected else { return status }
        shares.withLock { $0.removeAll() }
        do {
            try await runtime.unseal(rootKey: try Shamir.combine(collected))
        } catch {
            throw CoffreError.badParameter("These key shares do not rebuild the root key: unsealing failed. Submit the shares again.")
        }
        return status
    }
}
