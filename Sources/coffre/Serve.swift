import ArgumentParser
import CoffreCertificates
import CoffreModel
import CoffreServer
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
    @Option(help: "The host name of the token service in URLs (default localhost).") var authorityHost: String?
    @Option(help: "The vault created on first start and served on the bare host (default 'default').") var defaultVault: String?
    @Option(help: "Where audit records go: a file (default DATA/audit.log) or - for standard output.") var auditLog: String?
    @Option(
        name: .customLong("trusted-issuer"),
        help: "Also accept tokens of an OpenID Connect issuer: issuer=URL,jwks=URL-or-file,audience=A[,tenant=T] (repeatable).")
    var trustedIssuers: [String] = []
    @Option(help: "Log level: trace, debug, info, notice, warning, error.") var logLevel: String = "info"

    func run() async throws {
        let directory = DataDirectory(path: data.data)
        try directory.create()
        var configuration = try directory.loadConfiguration() ?? ServerConfiguration()
        if let port { configuration.port = port }
        if let bind { configuration.bind = bind }
        if let publicPort { configuration.publicPort = publicPort }
        if !vaultZones.isEmpty { configuration.vaultZones = vaultZones }
        if !hsmZones.isEmpty { configuration.hsmZones = hsmZones }
        if let authorityHost { configuration.authorityHost = authorityHost }
        if let defaultVault { configuration.defaultVault = defaultVault }
        if let auditLog { configuration.auditLog = auditLog }
        if !trustedIssuers.isEmpty { configuration.trustedIssuers = try trustedIssuers.map(TrustedIssuerConfiguration.init(parsing:)) }
        configuration = try configuration.validated()

        var logger = Logger(label: "coffre")
        logger.logLevel = Logger.Level(rawValue: logLevel) ?? .info

        let clock = SystemClock()
        let rootKey = try directory.rootKey(createIfMissing: true)
        let backend = try SQLiteStorage(path: directory.databaseFile)
        let state = try await Bootstrap.open(backend, rootKey: rootKey, configuration: configuration, clock: clock)
        configuration.tenantId = state.identity.tenantId
        try directory.save(configuration)
        try directory.saveCA(pem: try state.certificateAuthority.certificatePEM)

        let audit = try FileAuditSink(path: configuration.auditLog ?? directory.auditFile)
        let server = try await CoffreServer(configuration: configuration, state: state, rootKey: rootKey, clock: clock, audit: audit)
        let settings = configuration
        try await server.run(logger: logger) { port in
            Banner.print(configuration: settings, directory: directory, port: port)
        }
    }
}

enum Banner {
    static func print(configuration: ServerConfiguration, directory: DataDirectory, port: Int) {
        let vault = configuration.vaultURL(configuration.defaultVault)
        let host = "\(configuration.defaultVault).\(configuration.vaultZones[0])"
        let dataFlag = directory.path == DataDirectory(path: "coffre-data").path ? "" : " --data \(directory.path)"
        let lines = [
            "Coffre is serving on \(configuration.bind):\(port) (TLS).",
            "",
            "  Vault URL      \(vault)",
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
