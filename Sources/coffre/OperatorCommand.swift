import ArgumentParser
import CoffreAuth
import CoffreCertificates
import CoffreCore
import CoffreCrypto
import CoffreDirectory
import CoffreHTTP
import CoffreModel
import CoffreServer
import CoffreStorage
import CoffreStorageSQLite
import Foundation
import Logging

struct OperatorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "operator", abstract: "Operator tasks: seal and unseal, key rotation.",
        subcommands: [Init.self, Unseal.self, Status.self, Rotate.self, Rewrap.self, RotateSigningKey.self])

    struct Init: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Initialise a data directory whose root key is split into key shares (no root key file).",
            discussion: """
                Prints the key shares and an administrator's credentials once, as JSON: keep each share with a different \
                person. The server then starts sealed and answers 503 until `coffre operator unseal` has been given \
                THRESHOLD shares. The TLS certificate and key files it needs before unsealing are written to the data \
                directory (tls.pem, tls-key.pem, mode 0600).
                """)
        @OptionGroup var data: DataOption
        @Option(help: "How many shares to make.") var shares: Int = 5
        @Option(help: "How many shares unseal the server.") var threshold: Int = 3
        @Option(help: "The port the server will listen on.") var port: Int = 8443
        @Option(name: .customLong("vault-zone"), help: "A DNS zone for vaults (repeatable).") var vaultZones: [String] = []
        @Option(help: "Storage: sqlite (default) or a postgres:// URL (or set COFFRE_STORAGE).") var storage: String?
        @Option(help: "Auto-unseal instead of shares: the versioned id of an RSA key in another Key Vault that wraps the root key.")
        var autoUnsealKey: String?
        @Option(help: "Auto-unseal: the other vault's tenant.") var autoUnsealTenant: String?
        @Option(help: "Auto-unseal: the client id of a principal allowed wrapKey/unwrapKey (its secret in COFFRE_AUTO_UNSEAL_CLIENT_SECRET).")
        var autoUnsealClientId: String?
        @Option(help: "Auto-unseal: a CA file to trust for the other vault.") var autoUnsealCa: String?

        func run() async throws {
            let directory = DataDirectory(path: data.data)
            guard !directory.exists, !FileManager.default.fileExists(atPath: directory.databaseFile) else {
                throw ValidationError("\(directory.path) is already initialised.")
            }
            try directory.create()
            var configuration = ServerConfiguration()
            configuration.port = port
            if !vaultZones.isEmpty { configuration.vaultZones = vaultZones }
            configuration.storage = storage ?? ProcessInfo.processInfo.environment["COFFRE_STORAGE"]
            let rootKey = AEADKey.generate()
            var keyShares: [[UInt8]] = []
            if let autoUnsealKey {
                guard let tenant = autoUnsealTenant, let clientId = autoUnsealClientId else {
                    throw ValidationError("--auto-unseal-key needs --auto-unseal-tenant and --auto-unseal-client-id.")
                }
                let settings = AutoUnsealSettings(keyId: autoUnsealKey, tenantId: tenant, clientId: clientId, caFile: autoUnsealCa)
                try directory.saveWrappedRootKey(try await RemoteKeyVault(settings: settings).wrap(rootKey))
                configuration.seal = SealSettings(type: SealSettings.autoUnseal)
                configuration.autoUnseal = settings
            } else {
                configuration.seal = SealSettings(type: SealSettings.shamir, shares: shares, threshold: threshold)
                keyShares = try Shamir.split(rootKey, shares: shares, threshold: threshold)
            }
            configuration = try configuration.validated()

            let clock = SystemClock()
            let location = StorageLocation(configuration: configuration, directory: directory)
            let (state, admin, secret) = try await location.withBackend(logger: Logger(label: "coffre")) { backend in
                let state = try await Bootstrap.open(backend, rootKey: rootKey, configuration: configuration, clock: clock)
                let server = try await CoffreServer(
                    configuration: configuration, state: state, rootKey: rootKey, clock: clock, audit: MemoryAuditSink())
                var saved = try directory.writeSealedStartTLS(server, configuration: configuration)
                if storage == nil { saved.storage = nil }
                try directory.save(saved)
                let (admin, secret) = try await server.services.principals.addSecret(to: state.identity.adminClientId)
                return (state, admin, secret)
            }

            struct Output: Encodable {
                var shares: [String]?
                var threshold: Int?
                var tenantId: String
                var administrator: [String: String]
            }
            let output = Output(
                shares: keyShares.isEmpty ? nil : keyShares.map { Base64.standardEncoded($0) }, threshold: keyShares.isEmpty ? nil : threshold,
                tenantId: state.identity.tenantId,
                administrator: ["COFFRE_CLIENT_ID": admin.clientId, "COFFRE_CLIENT_SECRET": secret])
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(output), as: UTF8.self))
        }
    }

    struct Unseal: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Give a sealed server one key share.")
        @OptionGroup var data: DataOption
        @Option(help: "A key share (else read from standard input).") var share: String?

        func run() async throws {
            let value = share ?? readLine(strippingNewline: true) ?? ""
            struct Body: Encodable { var share: String }
            ManagementClient.printJSON(
                try await ManagementClient(data: data).call(.POST, "unseal", body: Body(share: value), authenticated: false))
        }
    }

    struct Status: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Whether the server is sealed, and the unseal progress.")
        @OptionGroup var data: DataOption
        func run() async throws {
            ManagementClient.printJSON(try await ManagementClient(data: data).call(.GET, "seal-status", authenticated: false))
        }
    }

    struct Rotate: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add a data-key term to the keyring: new writes use it; old data stays readable (see rewrap).")
        @OptionGroup var data: DataOption
        func run() async throws { ManagementClient.printJSON(try await ManagementClient(data: data).call(.POST, "keyring/rotate")) }
    }

    struct Rewrap: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Re-seal every stored value with the newest data-key term.")
        @OptionGroup var data: DataOption
        func run() async throws { ManagementClient.printJSON(try await ManagementClient(data: data).call(.POST, "keyring/rewrap")) }
    }

    struct RotateSigningKey: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-signing-key",
            abstract: "Sign new tokens with a new key; tokens signed before stay valid until they expire.")
        @OptionGroup var data: DataOption
        func run() async throws {
            ManagementClient.printJSON(try await ManagementClient(data: data).call(.POST, "signing-keys/rotate"))
        }
    }
}

struct BackupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup", abstract: "Whole-server backup and restore.", subcommands: [Create.self, Restore.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a consistent, sealed snapshot of a running server to FILE (only its root key opens it).")
        @OptionGroup var data: DataOption
        @Argument(help: "The backup file to write.") var file: String

        func run() async throws {
            let bytes = try await ManagementClient(data: data).call(.GET, "backup")
            guard FileManager.default.createFile(atPath: file, contents: bytes, attributes: [.posixPermissions: 0o600]) else {
                throw ValidationError("Cannot write \(file).")
            }
            print("Wrote \(bytes.count) bytes to \(file).")
        }
    }

    struct Restore: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Restore a backup into a new data directory (server stopped); needs the root key: DIR/root.key or --share.")
        @OptionGroup var data: DataOption
        @Argument(help: "The backup file.") var file: String
        @Option(help: "A key share, when the root key is split (repeat up to the threshold).") var share: [String] = []
        @Option(help: "Restore into this storage: sqlite (default) or an empty postgres:// database (or set COFFRE_STORAGE).")
        var storage: String?

        func run() async throws {
            let directory = DataDirectory(path: data.data)
            guard let contents = FileManager.default.contents(atPath: file) else { throw ValidationError("Cannot read \(file).") }
            let rootKey: [UInt8]
            if share.isEmpty {
                rootKey = try directory.rootKey(createIfMissing: false)
            } else {
                rootKey = try Shamir.combine(share.map { try Base64.decode($0).orThrow("a share is not base64") })
            }
            try directory.create()
            var configuration = try directory.loadConfiguration() ?? ServerConfiguration()
            if let storage { configuration.storage = storage }
            if storage == nil, let fromEnvironment = ProcessInfo.processInfo.environment["COFFRE_STORAGE"] {
                configuration.storage = fromEnvironment
            }
            if !share.isEmpty { configuration.seal = SealSettings(type: SealSettings.shamir, threshold: share.count) }
            let location = StorageLocation(configuration: configuration, directory: directory)
            let settings = configuration
            let (count, saved) = try await location.withBackend(logger: Logger(label: "coffre")) { backend in
                // The copy is an installation of its own: its token objects get a tag of their own (see CustodySweeper).
                let count = try await ServerBackup.restore(
                    Array(contents), into: backend, rootKey: rootKey, dropping: [CustodySweeper.installationKey])
                // Open it once: this proves the root key and writes what a start needs (settings, CA, TLS files when sealed).
                var configuration = settings
                let clock = SystemClock()
                let state = try await Bootstrap.open(backend, rootKey: rootKey, configuration: configuration, clock: clock)
                let server = try await CoffreServer(
                    configuration: configuration, state: state, rootKey: rootKey, clock: clock, audit: MemoryAuditSink())
                if share.isEmpty {
                    configuration.tenantId = state.identity.tenantId
                    try directory.saveCA(pem: try state.certificateAuthority.certificatePEM)
                } else {
                    configuration = try directory.writeSealedStartTLS(server, configuration: configuration)
                }
                return (count, configuration)
            }
            var toSave = saved
            if storage == nil { toSave.storage = try directory.loadConfiguration()?.storage }
            try directory.save(toSave)
            print("Restored \(count) entries into \(location.description). Start it with `coffre serve --data \(directory.path)`.")
        }
    }
}

extension Optional {
    func orThrow(_ message: String) throws -> Wrapped {
        guard let value = self else { throw ValidationError(message) }
        return value
    }
}
