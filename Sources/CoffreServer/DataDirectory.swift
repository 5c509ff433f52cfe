import CoffreCertificates
import CoffreCrypto
import CoffreModel
import Foundation

/// The files of a data directory: settings, the root key file, the SQLite database and the CA certificate.
/// Nothing here holds a secret value or a private key in clear except `root.key` (mode 0600), which is the key.
public struct DataDirectory: Sendable {
    public let path: String

    public init(path: String) {
        self.path = URL(fileURLWithPath: path).standardizedFileURL.path
    }

    public var configurationFile: String { path + "/coffre.json" }
    public var rootKeyFile: String { path + "/root.key" }
    public var databaseFile: String { path + "/coffre.db" }
    public var caFile: String { path + "/ca.pem" }
    public var auditFile: String { path + "/audit.log" }
    public var wrappedRootKeyFile: String { path + "/root.key.wrapped" }

    public func loadWrappedRootKey() throws -> WrappedRootKey {
        guard let data = FileManager.default.contents(atPath: wrappedRootKeyFile) else {
            throw CoffreError.badParameter("No wrapped root key at \(wrappedRootKeyFile).")
        }
        return try JSONDecoder().decode(WrappedRootKey.self, from: data)
    }

    public func saveWrappedRootKey(_ wrapped: WrappedRootKey) throws {
        try write(try JSONEncoder().encode(wrapped), to: wrappedRootKeyFile, mode: 0o600)
    }

    public var exists: Bool { FileManager.default.fileExists(atPath: configurationFile) }

    /// Creates the directory (mode 0700) if needed.
    public func create() throws {
        try FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    public func loadConfiguration() throws -> ServerConfiguration? {
        guard let data = FileManager.default.contents(atPath: configurationFile) else { return nil }
        do {
            return try JSONDecoder().decode(ServerConfiguration.self, from: data)
        } catch {
            throw CoffreError.badParameter("\(configurationFile) is not a valid Coffre configuration: \(error)")
        }
    }

    public func save(_ configuration: ServerConfiguration) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        try write(try encoder.encode(configuration), to: configurationFile, mode: 0o644)
    }

    /// The root key, created on first use (32 random bytes, base64, mode 0600).
    public func rootKey(createIfMissing: Bool) throws -> [UInt8] {
        if let data = FileManager.default.contents(atPath: rootKeyFile) {
            let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            guard let key = Base64.decode(text), key.count == 32 else {
                throw CoffreError.badParameter("\(rootKeyFile) does not hold a 32-byte base64 root key.")
            }
            return key
        }
        guard createIfMissing else {
            throw CoffreError.badParameter("No root key at \(rootKeyFile): is \(path) a Coffre data directory?")
        }
        let key = AEADKey.generate()
        try write(Data((Base64.standardEncoded(key) + "\n").utf8), to: rootKeyFile, mode: 0o600, exclusive: true)
        return key
    }

    /// Issues a long-lived TLS certificate from the server's CA into `tls.pem` and `tls-key.pem` (mode 0600), which a
    /// server that starts sealed serves before it can open its barrier; returns the configuration naming them.
    public func writeSealedStartTLS(_ server: CoffreServer, configuration: ServerConfiguration) throws -> ServerConfiguration {
        let names = server.tlsNames
        let issued = try server.state.certificateAuthority.issueServerCertificate(dnsNames: names.dns, ipAddresses: names.ip, days: 825)
        try write(Data(issued.privateKeyPEM.utf8), to: path + "/tls-key.pem", mode: 0o600)
        try write(Data(issued.certificatePEM.utf8), to: path + "/tls.pem", mode: 0o600)
        try saveCA(pem: try server.state.certificateAuthority.certificatePEM)
        var updated = configuration
        updated.tlsCertificateFile = path + "/tls.pem"
        updated.tlsKeyFile = path + "/tls-key.pem"
        updated.tenantId = server.state.identity.tenantId
        return updated
    }

    public func saveCA(pem: String) throws {
        try write(Data(pem.utf8), to: caFile, mode: 0o644)
    }

    /// The managed-identity header secret, derived from the root key so that no further secret sits on disk.
    public static func managedIdentityHeader(rootKey: [UInt8]) -> String {
        Base64.urlEncoded(Digest.hmacSHA256(key: rootKey, Array("coffre/managed-identity-header/v1".utf8)))
    }

    /// Writes atomically (temporary file, fsync, rename) with the given mode.
    private func write(_ data: Data, to file: String, mode: mode_t, exclusive: Bool = false) throws {
        try Self.writeAtomically(data, to: file, mode: mode, exclusive: exclusive)
    }

    /// Writes `file` atomically: a temporary file beside it, fsync (unless not `durable`), then rename (or,
    /// `exclusive`, a link that fails if the file exists), so that a reader sees the old content or the new, never a part.
    public static func writeAtomically(_ data: Data, to file: String, mode: mode_t, exclusive: Bool = false, durable: Bool = true) throws {
        let temporary = file + ".tmp-\(getpid())"
        let descriptor = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, mode)
        guard descriptor >= 0 else { throw CoffreError.badParameter("Cannot write \(file): \(String(cString: strerror(errno)))") }
        defer { unlink(temporary) }
        let written = data.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        let synced = durable ? fsync(descriptor) : 0
        close(descriptor)
        guard written == data.count, synced == 0 else {
            throw CoffreError.badParameter("Cannot write \(file): \(String(cString: strerror(errno)))")
        }
        if exclusive {
            guard link(temporary, file) == 0 else {
                throw CoffreError.badParameter("Cannot create \(file): \(String(cString: strerror(errno)))")
            }
        } else {
            guard rename(temporary, file) == 0 else {
                throw CoffreError.badParameter("Cannot write \(file): \(String(cString: strerror(errno)))")
            }
        }
    }
}
