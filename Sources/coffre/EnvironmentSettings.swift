import CoffreServer
import Foundation

/// Settings from the environment (`COFFRE_PORT`, `COFFRE_STORAGE`, …): they override `coffre.json`, and flags
/// override them.
struct EnvironmentSettings {
    let environment: [String: String]

    init(_ environment: [String: String]) { self.environment = environment }

    /// The variables read, for `--help` and the README.
    static let names = [
        "COFFRE_PORT", "COFFRE_BIND", "COFFRE_PUBLIC_PORT", "COFFRE_VAULT_ZONES", "COFFRE_HSM_ZONES", "COFFRE_BLOB_ZONES", "COFFRE_AUTHORITY_HOST",
        "COFFRE_DEFAULT_VAULT", "COFFRE_AUDIT_LOG", "COFFRE_STORAGE", "COFFRE_STORAGE_POOL_SIZE", "COFFRE_TLS_CERTIFICATE",
        "COFFRE_TLS_KEY", "COFFRE_NOTIFICATION_WEBHOOK", "COFFRE_PKCS11_MODULE", "COFFRE_PKCS11_TOKEN_LABEL", "COFFRE_PKCS11_PIN_FILE",
    ]

    func apply(to configuration: inout ServerConfiguration) throws {
        if let port = try integer("COFFRE_PORT") { configuration.port = port }
        if let port = try integer("COFFRE_PUBLIC_PORT") { configuration.publicPort = port }
        if let size = try integer("COFFRE_STORAGE_POOL_SIZE") { configuration.storagePoolSize = size }
        if let bind = environment["COFFRE_BIND"] { configuration.bind = bind }
        if let zones = list("COFFRE_VAULT_ZONES") { configuration.vaultZones = zones }
        if let zones = list("COFFRE_HSM_ZONES") { configuration.hsmZones = zones }
        if let zones = list("COFFRE_BLOB_ZONES") { configuration.blobZones = zones }
        if let host = environment["COFFRE_AUTHORITY_HOST"] { configuration.authorityHost = host }
        if let vault = environment["COFFRE_DEFAULT_VAULT"] { configuration.defaultVault = vault }
        if let audit = environment["COFFRE_AUDIT_LOG"] { configuration.auditLog = audit }
        if let storage = environment["COFFRE_STORAGE"] { configuration.storage = storage }
        if let file = environment["COFFRE_TLS_CERTIFICATE"] { configuration.tlsCertificateFile = file }
        if let file = environment["COFFRE_TLS_KEY"] { configuration.tlsKeyFile = file }
        if let url = environment["COFFRE_NOTIFICATION_WEBHOOK"] { configuration.notificationWebhook = url }
        if let module = environment["COFFRE_PKCS11_MODULE"] { configuration.pkcs11Module = module }
        if let label = environment["COFFRE_PKCS11_TOKEN_LABEL"] { configuration.pkcs11TokenLabel = label }
        if let file = environment["COFFRE_PKCS11_PIN_FILE"] { configuration.pkcs11PinFile = file }
    }

    private func integer(_ name: String) throws -> Int? {
        guard let text = environment[name] else { return nil }
        guard let value = Int(text) else { throw ManagementFailure("\(name)=\(text) is not a number.") }
        return value
    }

    private func list(_ name: String) -> [String]? {
        environment[name].map { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
    }
}
