import CoffreCrypto
import CoffreModel
import CoffreStorage
import Foundation

/// A service principal (an application identity) that can obtain tokens.
public struct PrincipalRecord: Codable, Sendable, Equatable {
    public var objectId: String
    public var clientId: String
    public var displayName: String
    public var created: Int64
    public var secrets: [ClientSecretHash]
    /// Certificates whose private keys sign client assertions (`CertificateCredential`).
    public var certificates: [ClientCertificate]
    /// Administrators may manage the server itself (vaults, principals, policies) through `/coffre/v1`.
    public var administrator: Bool
    /// A managed identity: local workloads obtain its tokens from the managed-identity endpoints.
    public var managedIdentity: Bool

    public init(
        objectId: String, clientId: String, displayName: String, created: Int64, administrator: Bool = false, managedIdentity: Bool = false
    ) {
        self.objectId = objectId
        self.clientId = clientId
        self.displayName = displayName
        self.created = created
        self.secrets = []
        self.certificates = []
        self.administrator = administrator
        self.managedIdentity = managedIdentity
    }

    enum CodingKeys: String, CodingKey {
        case objectId, clientId, displayName, created, secrets, certificates, administrator, managedIdentity
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        objectId = try container.decode(String.self, forKey: .objectId)
        clientId = try container.decode(String.self, forKey: .clientId)
        displayName = try container.decode(String.self, forKey: .displayName)
        created = try container.decode(Int64.self, forKey: .created)
        secrets = try container.decode([ClientSecretHash].self, forKey: .secrets)
        certificates = try container.decodeIfPresent([ClientCertificate].self, forKey: .certificates) ?? []
        administrator = try container.decode(Bool.self, forKey: .administrator)
        managedIdentity = try container.decodeIfPresent(Bool.self, forKey: .managedIdentity) ?? false
    }

    /// Whether `secret` matches one of the principal's client secrets (constant-time per comparison).
    public func accepts(secret: String, at now: Int64) -> Bool {
        var matched = false
        for stored in secrets where stored.expires.map({ now < $0 }) ?? true {
            matched = stored.matches(secret) || matched
        }
        return matched
    }
}

/// A certificate registered for a principal; only its public part is kept.
public struct ClientCertificate: Codable, Sendable, Equatable {
    public var id: String
    public var der: [UInt8]
    /// Hex SHA-1 and SHA-256 thumbprints (`x5t` / `x5t#S256` of client assertions carry them base64url-encoded).
    public var sha1Thumbprint: String
    public var sha256Thumbprint: String
    public var subject: String
    public var notAfter: Int64
    public var created: Int64

    public init(id: String, der: [UInt8], sha1Thumbprint: String, sha256Thumbprint: String, subject: String, notAfter: Int64, created: Int64) {
        self.id = id
        self.der = der
        self.sha1Thumbprint = sha1Thumbprint
        self.sha256Thumbprint = sha256Thumbprint
        self.subject = subject
        self.notAfter = notAfter
        self.created = created
    }
}

/// A client secret is kept only as a salted HMAC-SHA-256; secrets are random and long, so a slow hash buys nothing.
public struct ClientSecretHash: Codable, Sendable, Equatable {
    public var id: String
    public var hint: String
    public var salt: [UInt8]
    public var hash: [UInt8]
    public var created: Int64
    public var expires: Int64?

    public init(secret: String, created: Int64, expires: Int64? = nil) {
        self.id = SecureRandom.uuid()
        self.hint = String(secret.prefix(3))
        self.salt = SecureRandom.bytes(16)
        self.hash = Digest.hmacSHA256(key: salt, Array(secret.utf8))
        self.created = created
        self.expires = expires
    }

    public func matches(_ secret: String) -> Bool {
        ConstantTime.equals(Digest.hmacSHA256(key: salt, Array(secret.utf8)), hash)
    }
}

/// The principals of the server (`sys/principals/{clientId}`).
public struct PrincipalDirectory: Sendable {
    let storage: any StorageBackend
    let clock: any WallClock

    public init(storage: any StorageBackend, clock: any WallClock) {
        self.storage = storage
        self.clock = clock
    }

    static func key(clientId: String) -> String { "sys/principals/\(clientId.lowercased())" }

    /// Creates a principal with a new client secret; the secret is returned once and never stored in clear.
    public func create(
        displayName: String, administrator: Bool = false, managedIdentity: Bool = false, objectId: String? = nil, clientId: String? = nil
    ) async throws -> (principal: PrincipalRecord, secret: String) {
        let (principal, secret) = try newRecord(
            displayName: displayName, administrator: administrator, managedIdentity: managedIdentity, objectId: objectId, clientId: clientId)
        try await insert(principal)
        return (principal, secret)
    }

    /// A new principal with a new client secret, not stored yet: the caller may add credentials, then ``insert(_:)`` it.
    public func newRecord(
        displayName: String, administrator: Bool = false, managedIdentity: Bool = false, objectId: String? = nil, clientId: String? = nil
    ) throws -> (principal: PrincipalRecord, secret: String) {
        let trimmed = displayName.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty, trimmed.count <= 256 else {
            throw CoffreError.badParameter("A principal's name must be 1-256 characters long.")
        }
        let secret = SecureRandom.token(40)
        var principal = PrincipalRecord(
            objectId: objectId ?? SecureRandom.uuid(), clientId: clientId ?? SecureRandom.uuid(), displayName: trimmed,
            created: clock.now, administrator: administrator, managedIdentity: managedIdentity)
        principal.secrets = [ClientSecretHash(secret: secret, created: clock.now)]
        return (principal, secret)
    }

    /// Stores a new principal with all its credentials, in one transaction; its client id must be free.
    public func insert(_ principal: PrincipalRecord) async throws {
        try await storage.transaction { transaction in
            guard try await transaction.get(Self.key(clientId: principal.clientId)) == nil else {
                throw CoffreError.conflict("A principal with client id \(principal.clientId) already exists.")
            }
            try await transaction.write(principal, at: Self.key(clientId: principal.clientId))
        }
    }

    public func get(clientId: String) async throws -> PrincipalRecord? {
        try await storage.read(PrincipalRecord.self, at: Self.key(clientId: clientId))
    }

    public func list() async throws -> [PrincipalRecord] {
        try await storage.readAll(PrincipalRecord.self, prefix: "sys/principals/").map(\.record)
    }

    /// Finds a principal by client id, object id or display name.
    public func find(_ reference: String) async throws -> PrincipalRecord {
        if let principal = try await get(clientId: reference) { return principal }
        let lowered = reference.lowercased()
        let matches = try await list().filter { $0.objectId == lowered || $0.displayName == reference }
        guard matches.count == 1, let principal = matches.first else {
            if matches.count > 1 {
                throw CoffreError.badParameter("Several principals are named \(reference): use the client id.")
            }
            throw CoffreError.principalNotFound(reference)
        }
        return principal
    }

    /// Adds a client secret to a principal and returns it (secret rotation: both stay valid until one is removed).
    public func addSecret(to reference: String) async throws -> (principal: PrincipalRecord, secret: String) {
        let secret = SecureRandom.token(40)
        let now = clock.now
        let updated = try await modify(reference) { $0.secrets.append(ClientSecretHash(secret: secret, created: now)) }
        return (updated, secret)
    }

    /// Removes a client secret by id (or by the first characters of the secret, as shown in `hint`).
    public func removeSecret(_ id: String, from reference: String) async throws -> PrincipalRecord {
        try await modify(reference) { record in
            guard record.secrets.contains(where: { $0.id == id }) else { throw CoffreError.badParameter("No client secret with id \(id).") }
            record.secrets.removeAll { $0.id == id }
        }
    }

    /// Registers a certificate (PEM or DER, public part only) for client assertions.
    public func addCertificate(_ certificate: ClientCertificate, to reference: String) async throws -> PrincipalRecord {
        try await modify(reference) { record in
            record.certificates.removeAll { $0.sha256Thumbprint == certificate.sha256Thumbprint }
            record.certificates.append(certificate)
        }
    }

    public func removeCertificate(_ thumbprintOrId: String, from reference: String) async throws -> PrincipalRecord {
        let wanted = thumbprintOrId.lowercased()
        return try await modify(reference) { record in
            let before = record.certificates.count
            record.certificates.removeAll { $0.id == wanted || $0.sha1Thumbprint == wanted || $0.sha256Thumbprint == wanted }
            guard record.certificates.count < before else { throw CoffreError.badParameter("No certificate \(thumbprintOrId) on this principal.") }
        }
    }

    private func modify(_ reference: String, _ change: @escaping @Sendable (inout PrincipalRecord) throws -> Void) async throws
        -> PrincipalRecord
    {
        let principal = try await find(reference)
        return try await storage.transaction { transaction in
            guard var record = try await transaction.read(PrincipalRecord.self, at: Self.key(clientId: principal.clientId)) else {
                throw CoffreError.principalNotFound(reference)
            }
            try change(&record)
            try await transaction.write(record, at: Self.key(clientId: record.clientId))
            return record
        }
    }

    /// Deletes a principal and its group memberships.
    public func delete(_ reference: String) async throws -> PrincipalRecord {
        let principal = try await find(reference)
        try await storage.transaction { transaction in
            try await GroupDirectory.detach(principal.objectId, in: transaction)
            try await transaction.delete(Self.key(clientId: principal.clientId))
        }
        return principal
    }
}
