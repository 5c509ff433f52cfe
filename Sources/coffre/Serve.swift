import ArgumentParser
import CoffreCertificates
import CoffreCore
import CoffreCrypto
import CoffreKeyCustody
import CoffreModel
import CoffreServer
import CoffreStorage
import CoffreStorageSQLite
import Foundation
import Logging

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start Coffre (the first start initialises the data directory).")

    @OptionGroup var data: DataOption
    @Option(help: "The port to listen on (default 8443).") var port: Int?
    @Option(help: "The address to listen on (default 127.0.0.1).") var bind: String?
    @Option(help: "The port clients use, when a proxy sits in front.") var publicPort: Int?
    @Option(name: .customLong("vault-zone"), help: "A DNS zone for vaults (repeatable; default vault.localhost).")
    var vaultZones: [String] = []
    @Option(name: .customLong("hsm-zone"), help: "A DNS zone for Managed HSM pools (repeatable).") var hsmZones: [String] = []
    @Option(
        name: .customLong("blob-zone"),
        help: "A DNS zone for the Blob service's storage accounts (repeatable; default blob.localhost and blob.core.localhost).")
    var blobZones: [String] = []
    @Option(help: "The host name of the token service in URLs (default localhost).") var authorityHost: String?
    @Option(help: "The vault created on first start and served on the bare host (default 'default').") var defaultVault: String?
    @Option(help: "Where audit records go: a file (default DATA/audit.log) or - for standard output.") var auditLog: String?
    @Option(
        name: .customLong("trusted-issuer"),
        help: "Also accept tokens of an OpenID Connect issuer: issuer=URL,jwks=URL-or-file,audience=A[,tenant=T] (repeatable).")
    var trustedIssuers: [String] = []
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel: String = "info"

    @Option(help: "The operator's TLS certificate chain (PEM); default: issued by Coffre's CA at each start.")
    var tlsCertificate: String?
    @Option(help: "The private key of --tls-certificate (PEM).") var tlsKey: String?
    @Option(help: "A URL that receives certificate expiry notifications (EmailContacts actions) as JSON POSTs.")
    var notificationWebhook: String?

    @Option(help: "Storage: sqlite (the data directory's file, default) or a postgres:// URL (or set COFFRE_STORAGE).")
    var storage: String?
    @Option(help: "Connections to PostgreSQL per node (default 16).") var storagePoolSize: Int?
    @Option(help: "At most N requests per vault per 10 seconds; more get 429 Throttled with Retry-After (default: no limit).")
    var requestLimit: Int?
    @Option(help: "Seconds a connection may stay without a complete request before it is closed (default 60).")
    var idleTimeout: Int?
    @Option(help: "Connections served at once; more wait to be accepted (default 10000, less if the open-file limit is lower).")
    var maxConnections: Int?
    @Flag(help: "Development mode: time travel (coffre clock) and fault injection (coffre faults). Never for production.")
    var dev = false
    @Option(help: "Load this seed file (YAML or JSON, docs/seed-format.md) at start: each vault all or nothing, idempotently.")
    var seed: String?

    @Option(help: "A PKCS#11 module (shared library) whose token keeps every RSA-HSM and EC-HSM key (or set COFFRE_PKCS11_MODULE).")
    var pkcs11Module: String?
    @Option(help: "The label of the PKCS#11 token (or set COFFRE_PKCS11_TOKEN_LABEL).") var pkcs11TokenLabel: String?
    @Option(help: "A file holding the token's user PIN, read at each login (or set COFFRE_PKCS11_PIN_FILE).") var pkcs11PinFile: String?

    @Flag(help: "An in-memory server for tests: nothing written to disk but --env-file; everything is gone when it stops.")
    var ephemeral = false
    @Option(help: "With --ephemeral: once ready, write the port and `coffre env`'s variables here (atomically; the file is also the CA bundle).")
    var envFile: String?

    func validate() throws {
        if envFile != nil, !ephemeral { throw ValidationError("--env-file goes with --ephemeral (a persistent server has `coffre env`).") }
        if ephemeral, storage != nil { throw ValidationError("An ephemeral server keeps everything in memory: --storage does not apply.") }
        if ephemeral, pkcs11Module != nil {
            throw ValidationError("An ephemeral server keeps its keys in memory: --pkcs11-module does not apply.")
        }
    }

    /// The flags given, over `configuration`.
    func apply(to configuration: inout ServerConfiguration) throws {
        if let port { configuration.port = port }
        if let bind { configuration.bind = bind }
        if let publicPort { configuration.publicPort = publicPort }
        if !vaultZones.isEmpty { configuration.vaultZones = vaultZones }
        if !hsmZones.isEmpty { configuration.hsmZones = hsmZones }
        if !blobZones.isEmpty { configuration.blobZones = blobZones }
        if let authorityHost { configuration.authorityHost = authorityHost }
        if let defaultVault { configuration.defaultVault = defaultVault }
        if let auditLog { configuration.auditLog = auditLog }
        if !trustedIssuers.isEmpty { configuration.trustedIssuers = try trustedIssuers.map(TrustedIssuerConfiguration.init(parsing:)) }
        if let tlsCertificate { configuration.tlsCertificateFile = tlsCertificate }
        if let tlsKey { configuration.tlsKeyFile = tlsKey }
        if let notificationWebhook { configuration.notificationWebhook = notificationWebhook }
        if let storage { configuration.storage = storage }
        if let storagePoolSize { configuration.storagePoolSize = storagePoolSize }
        if let requestLimit { configuration.requestLimit = requestLimit }
        if let idleTimeout { configuration.idleTimeout = idleTimeout }
        if let maxConnections { configuration.maxConnections = maxConnections }
        if let pkcs11Module { configuration.pkcs11Module = pkcs11Module }
        if let pkcs11TokenLabel { configuration.pkcs11TokenLabel = pkcs11TokenLabel }
        if let pkcs11PinFile { configuration.pkcs11PinFile = pkcs11PinFile }
        configuration.development = dev
    }

    var logger: Logger {
        var logger = Logger(label: "coffre")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info
        return logger
    }

    func run() async throws {
        if ephemeral {
            try await runEphemeral()
            return
        }
        let directory = DataDirectory(path: data.data)
        try directory.create()
        var configuration = try directory.loadConfiguration() ?? ServerConfiguration()
        try EnvironmentSettings(ProcessInfo.processInfo.environment).apply(to: &configuration)
        try apply(to: &configuration)
        configuration = try configuration.validated()

        let logger = self.logger
        ProcessHardening.apply(logger: logger)
        let location = StorageLocation(configuration: configuration, directory: directory)
        logger.info("storage: \(location.description)")
        // A storage URL from the environment may carry a password: it is not written to coffre.json.
        var saved = configuration
        if storage == nil, ProcessInfo.processInfo.environment["COFFRE_STORAGE"] != nil { saved.storage = nil }

        let sealed = configuration.seal?.type == SealSettings.shamir || configuration.seal?.type == SealSettings.autoUnseal
        let autoUnseal: (@Sendable () async throws -> [UInt8])? = try configuration.autoUnseal.map { settings in
            let vault = try RemoteKeyVault(settings: settings)
            let wrapped = try directory.loadWrappedRootKey()
            return { try await vault.unwrap(wrapped) }
        }
        // Read before anything starts: a bad seed file stops the start with its error.
        let seedDocument = try seed.map(SeedFile.load)
        if seedDocument != nil, sealed { throw ValidationError("--seed needs a server that starts unsealed (a root key file).") }
        let audit = try FileAuditSink(path: configuration.auditLog ?? directory.auditFile)
        let hardware = try await Self.openToken(configuration, logger: logger)
        try await location.withBackend(logger: logger) { backend in
            let runtime = ServerRuntime(
                configuration: configuration, directory: directory, backend: backend, clock: SystemClock(), audit: audit, hardware: hardware)
            if !sealed {
                let server = try await runtime.unseal(rootKey: try directory.rootKey(createIfMissing: true))
                saved.tenantId = server.state.identity.tenantId
                try directory.saveCA(pem: try server.state.certificateAuthority.certificatePEM)
                if let document = seedDocument { try await Self.seed(server, with: document, logger: logger) }
            }
            try directory.save(saved)
            var shown = configuration
            shown.tenantId = saved.tenantId
            let settings = shown
            try await runtime.run(logger: logger, autoUnseal: autoUnseal) { port in
                Banner.print(configuration: settings, directory: directory, port: port, sealed: sealed)
            }
        }
    }

    /// The configured token, checked now (module, token, PIN): Coffre does not start without it.
    static func openToken(_ configuration: ServerConfiguration, logger: Logger) async throws -> PKCS11Custody? {
        guard let token = configuration.pkcs11 else {
            logger.info("no PKCS#11 module: RSA-HSM and EC-HSM keys are software keys (development)")
            return nil
        }
        do {
            let hardware = try await PKCS11Custody.open(token)
            logger.info("PKCS#11 token '\(token.tokenLabel)' of \(token.modulePath): RSA-HSM and EC-HSM keys live in it")
            return hardware
        } catch let failure as CustodyFailure {
            throw ManagementFailure(
                "Coffre will not start: the PKCS#11 token '\(token.tokenLabel)' of \(token.modulePath) cannot be used. \(failure)")
        }
    }

    /// Loads a seed document into a started server, logging what changed.
    static func seed(_ server: CoffreServer, with document: SeedDocument, logger: Logger) async throws {
        for report in try await server.seed(document) {
            logger.info(
                "seeded \(report.vault): \(report.created.count) created, \(report.changed.count) changed, \(report.unchanged.count) unchanged")
        }
    }

    /// `--ephemeral`: in-memory storage and a root key that lives in memory only; the CA, the TLS certificate and the
    /// token-signing key are made at start and never written. Once serving, the env file (if asked) is written
    /// atomically; it is removed when the server stops.
    func runEphemeral() async throws {
        var configuration = ServerConfiguration()
        try apply(to: &configuration)
        configuration.ephemeral = true
        if configuration.port == 0 { configuration.port = try EphemeralServer.freePort(on: configuration.bind) }
        configuration = try configuration.validated()
        let logger = self.logger
        ProcessHardening.apply(logger: logger)
        let seedDocument = try seed.map(SeedFile.load)
        let audit: any AuditSink = try configuration.auditLog.map { try FileAuditSink(path: $0) } ?? EphemeralServer.DiscardedAudit()
        let runtime = ServerRuntime(configuration: configuration, directory: nil, backend: MemoryStorage(), clock: SystemClock(), audit: audit)
        let rootKey = AEADKey.generate()
        let server = try await runtime.unseal(rootKey: rootKey)
        if let seedDocument { try await Self.seed(server, with: seedDocument, logger: logger) }
        configuration.tenantId = server.state.identity.tenantId
        let settings = configuration
        let caPEM = try server.state.certificateAuthority.certificatePEM
        let envFile = envFile.map { URL(fileURLWithPath: $0).standardizedFileURL.path }
        defer { if let envFile { unlink(envFile) } }
        try await runtime.run(logger: logger) { port in
            if let envFile {
                let text = ClientEnvironment.ephemeralFile(
                    configuration: settings, path: envFile, port: port, identityHeader: DataDirectory.managedIdentityHeader(rootKey: rootKey),
                    caPEM: caPEM)
                do {
                    try DataDirectory.writeAtomically(Data(text.utf8), to: envFile, mode: 0o600, durable: false)
                } catch {
                    logger.error("cannot write the env file \(envFile): \(error)")
                }
            }
            Swift.print("Coffre (ephemeral) is serving on \(settings.bind):\(port) (TLS)." + (envFile.map { " Environment: \($0)" } ?? ""))
            fflush(nil)
        }
    }
}

enum Banner {
    static func print(configuration: ServerConfiguration, directory: DataDirectory, port: Int, sealed: Bool) {
        let vault = configuration.vaultURL(configuration.defaultVault)
        let host = "\(configuration.defaultVault).\(configuration.vaultZones[0])"
        let dataFlag = directory.path == DataDirectory(path: "coffre-data").path ? "" : " --data \(directory.path)"
        let lines = [
            "Coffre is serving on \(configuration.bind):\(port) (TLS)"
                + (sealed ? ", SEALED: give it \(configuration.seal?.threshold ?? 0) key shares with `coffre operator unseal`." : ".")
                + (configuration.development ? " DEVELOPMENT MODE: time travel and fault injection are on." : ""),
            "",
            "  Vault URL      \(vault)",
            "  Blob service   \(configuration.blobURL("{account}"))  (coffre storage account create --name NAME)",
            "  CA file        \(directory.caFile)",
            "  Token service  \(configuration.authority)/\(configuration.tenantId ?? "")",
            "",
            "Connect an Azure SDK or tool:",
            "  eval \"$(coffre env\(dataFlag))\"    # AZURE_KEYVAULT_URL, CA bundle, managed identity",
            "",
            "If \(host) does not resolve here (check: getent hosts \(host)), add to /etc/hosts:",
            "  127.0.0.1 \(host)",
            "",
        ]
        Swift.print(lines.joined(separator: "\n"))
        fflush(nil)
    }
}
