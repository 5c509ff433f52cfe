import CoffreCertificates
import CoffreCrypto
import CoffreJSON
import CoffreModel
import CoffreStorage

extension SecretVersion: VersionedRecord {
    public struct Summary: Codable, JSONFieldsEncodable, Sendable {
        public var attributes: ObjectAttributes
        public var contentType: String?
        public var tags: [String: String]?
        public var managed: Bool?

        public func writeFields(_ object: inout JSONObjectWriter) throws {
            try object.field("attributes", attributes)
            try object.field("contentType", contentType)
            try object.field("tags", tags)
            try object.field("managed", managed)
        }
    }

    public var summary: Summary { Summary(attributes: attributes, contentType: contentType, tags: tags, managed: managed) }
}

/// The Secrets API of one server: every rule of Key Vault's secrets, independent of HTTP.
public struct SecretService: Sendable {
    public typealias Item = ObjectHead<SecretVersion.Summary>

    let store: VersionedStore<SecretVersion>
    let clock: any WallClock
    let backups: BackupCodec
    /// The values of SAS definitions' secrets.
    let sasTokens: SASTokenMint

    public init(storage: any StorageBackend, clock: any WallClock, backups: BackupCodec) {
        self.store = VersionedStore(storage: storage, kind: .secret)
        self.clock = clock
        self.backups = backups
        self.sasTokens = SASTokenMint(storage: storage, clock: clock)
    }

    public struct Properties: Sendable {
        public var contentType: String??
        public var attributes: AttributeChanges
        public var tags: [String: String]??

        public init(contentType: String?? = nil, attributes: AttributeChanges = .init(), tags: [String: String]?? = nil) {
            self.contentType = contentType
            self.attributes = attributes
            self.tags = tags
        }
    }

    /// Stores a new version of the secret.
    public func set(in vault: VaultName, name: String, value: String, properties: Properties) async throws -> Versioned<SecretVersion> {
        let name = try ObjectName(name, kind: .secret)
        guard value.utf8.count <= SecretLimits.maxValueBytes else {
            throw CoffreError.badParameter(
                "The secret value is too large: \(value.utf8.count) bytes, the limit is \(SecretLimits.maxValueBytes) bytes.")
        }
        try Self.validate(properties)
        let now = clock.now(in: vault)
        return try await store.addVersion(in: vault, name: name) { version, existing in
            if let existing, let refusal = Self.managedRefusal(existing.summary, name) { throw refusal }
            return SecretVersion(
                version: version, value: value, contentType: properties.contentType ?? nil,
                attributes: properties.attributes.applied(to: ObjectAttributes(created: now, updated: now), at: now),
                tags: properties.tags ?? nil)
        }
    }

    /// A version of the secret with its value; a disabled secret's value is refused, and so is the value of an
    /// expired certificate. `outContentType` converts a certificate's secret between PKCS#12 and PEM. A SAS
    /// definition's secret holds a fresh SAS token.
    public func get(in vault: VaultName, name: String, version: String?, outContentType: String? = nil) async throws
        -> Versioned<SecretVersion>
    {
        var secret = try await store.get(in: vault, name: ObjectName(name, kind: .secret), version: version)
        guard secret.record.attributes.enabled else { throw CoffreError.disabled(.secret, operation: "get") }
        if secret.record.managed == true, let expires = secret.record.attributes.expires, clock.now(in: vault) >= expires {
            throw CoffreError.forbidden(.secretExpired, message: "Operation get is not allowed on an expired certificate's secret.")
        }
        if let reference = secret.record.sasDefinition {
            secret.record.value = try await sasTokens.token(in: vault, for: reference)
        }
        if let outContentType, !outContentType.isEmpty, outContentType != secret.record.contentType {
            secret.record.value = try Self.convert(secret.record, to: outContentType)
            secret.record.contentType = outContentType
        }
        return secret
    }

    /// A version's properties, its value left empty, whether it is enabled or not (what listing permission shows).
    public func properties(in vault: VaultName, name: String, version: String?) async throws -> Versioned<SecretVersion> {
        var secret = try await store.get(in: vault, name: ObjectName(name, kind: .secret), version: version)
        secret.record.value = ""
        return secret
    }

    /// A certificate's secret in the other format (PKCS#12 base64 ↔ PEM).
    static func convert(_ record: SecretVersion, to contentType: String) throws -> String {
        let formats = [CertificatePolicy.pkcs12, CertificatePolicy.pem]
        guard record.managed == true, formats.contains(contentType), formats.contains(record.contentType ?? "") else {
            throw CoffreError.badParameter(
                "outContentType can only convert a certificate's secret between application/x-pkcs12 and application/x-pem-file.")
        }
        let bundle = try CertificateService.library {
            try CertificateBundle(importValue: record.value, password: nil, preservingOrder: true)
        }
        return contentType == CertificatePolicy.pem
            ? bundle.pem() : Base64.standardEncoded(try CertificateService.library { try bundle.pkcs12(password: nil) })
    }

    /// Refuses changes made directly to the secret of a certificate or a SAS definition.
    func checkNotManaged(_ vault: VaultName, _ name: ObjectName) async throws {
        if let summary = try await store.head(in: vault, name: name)?.summary, let refusal = Self.managedRefusal(summary, name) { throw refusal }
    }

    /// Why a managed secret cannot be changed directly (nil for a secret of its own).
    static func managedRefusal(_ summary: SecretVersion.Summary, _ name: ObjectName) -> (any Error)? {
        guard summary.managed == true else { return nil }
        if summary.contentType == SASDefinition.secretContentType { return managedBySASDefinition(name) }
        return CoffreError.managedByCertificate(.secret, name: name.display)
    }

    /// Refuses recovering or purging a SAS definition's deleted secret: it follows its SAS definition.
    func checkNotSASDefinitions(deleted name: ObjectName, in vault: VaultName) async throws {
        if (try? await store.deleted(in: vault, name: name))?.record.sasDefinition != nil { throw Self.managedBySASDefinition(name) }
    }

    static func managedBySASDefinition(_ name: ObjectName) -> ManagedStorageError { .managedBySASDefinition(secret: name.display) }

    public func list(in vault: VaultName, after cursor: String?, limit: Int) async throws -> Page<Item> {
        try await store.list(in: vault, after: cursor, limit: limit)
    }

    public func versions(in vault: VaultName, name: String, after cursor: String?, limit: Int) async throws
        -> Page<Versioned<SecretVersion>>
    {
        try await store.versions(in: vault, name: ObjectName(name, kind: .secret), after: cursor, limit: limit)
    }

    /// Changes a version's content type, attributes and tags (the value cannot change).
    public func update(in vault: VaultName, name: String, version: String?, properties: Properties) async throws
        -> Versioned<SecretVersion>
    {
        try Self.validate(properties)
        let now = clock.now(in: vault)
        try await checkNotManaged(vault, try ObjectName(name, kind: .secret))
        return try await store.update(in: vault, name: ObjectName(name, kind: .secret), version: version) { record in
            if let contentType = properties.contentType { record.contentType = contentType }
            if let tags = properties.tags { record.tags = tags }
            record.attributes = properties.attributes.applied(to: record.attributes, at: now)
        }
    }

    public func delete(in vault: VaultRecord, name: String) async throws -> Versioned<SecretVersion> {
        let now = clock.now(in: vault.name)
        let deletion = Deletion(deletedDate: now, scheduledPurgeDate: now + Int64(vault.retentionDays) * Seconds.day)
        try await checkNotManaged(vault.name, try ObjectName(name, kind: .secret))
        return try await store.delete(in: vault.name, name: ObjectName(name, kind: .secret), deletion: deletion)
    }

    public func deleted(in vault: VaultName, name: String) async throws -> Versioned<SecretVersion> {
        try await store.deleted(in: vault, name: ObjectName(name, kind: .secret))
    }

    public func listDeleted(in vault: VaultName, after cursor: String?, limit: Int) async throws -> Page<Item> {
        try await store.listDeleted(in: vault, after: cursor, limit: limit)
    }

    public func recover(in vault: VaultName, name: String) async throws -> Versioned<SecretVersion> {
        let name = try ObjectName(name, kind: .secret)
        try await checkNotSASDefinitions(deleted: name, in: vault)
        return try await store.recover(in: vault, name: name)
    }

    public func purge(in vault: VaultRecord, name: String) async throws {
        guard !vault.purgeProtection else { throw CoffreError.purgeProtected(vault: vault.name.value) }
        let name = try ObjectName(name, kind: .secret)
        try await checkNotSASDefinitions(deleted: name, in: vault.name)
        try await store.purge(in: vault.name, name: name)
    }

    struct Backup: Codable {
        var head: Item
        var versions: [SecretVersion]
    }

    /// Every version of the secret, sealed into an opaque blob.
    public func backup(in vault: VaultName, name: String) async throws -> String {
        let name = try ObjectName(name, kind: .secret)
        let (head, versions) = try await store.export(in: vault, name: name)
        // A SAS definition's secret has no value to keep: it is backed up with its storage account.
        guard !versions.contains(where: { $0.sasDefinition != nil }) else { throw Self.managedBySASDefinition(name) }
        return try backups.seal(Backup(head: head, versions: versions), kind: .secret)
    }

    public func restore(in vault: VaultName, blob: String) async throws -> Versioned<SecretVersion> {
        let backup = try backups.open(blob, as: Backup.self, kind: .secret)
        return try await store.restore(in: vault, head: backup.head, versions: backup.versions)
    }

    /// The scheduled purge of one due secret (run by the purge sweeper).
    func purgeIfDue(in vault: VaultName, name: String, now: Int64) async throws -> Bool {
        try await store.purgeIfDue(in: vault, name: ObjectName(name, kind: .secret), now: now)
    }

    static func validate(_ properties: Properties) throws {
        if case .some(.some(let contentType)) = properties.contentType, contentType.count > SecretLimits.maxContentTypeLength {
            throw CoffreError.badParameter(
                "The content type is too long: at most \(SecretLimits.maxContentTypeLength) characters are allowed.")
        }
        if case .some(let tags) = properties.tags { try Tags.validate(tags) }
    }
}
