import CoffreCrypto
import CoffreModel
import CoffreStorage
import Foundation
import Synchronization

/// The Keys API: key management, rotation policies and the cryptographic operations, independent of HTTP.
public struct KeyService: Sendable {
    public typealias Item = ObjectHead<KeyVersion.Summary>

    let store: VersionedStore<KeyVersion>
    let storage: any StorageBackend
    let clock: any WallClock
    let backups: BackupCodec
    let cache: KeyMaterialCache
    /// Where expensive private-key operations run.
    let workers: CryptoWorkers
    /// Where cryptographic operations are counted.
    let metrics: MetricsRegistry
    /// Who verifies attestations and signs release statements (nil: keys cannot be released).
    let releaseAuthority: KeyReleaseAuthority?

    static let rotationPolicy = "key-rotationpolicy"

    /// - Parameters:
    ///   - metrics: counts cryptographic operations by operation and algorithm.
    ///   - release: what key release needs from outside Core; without it, release is refused.
    public init(
        storage: any StorageBackend, clock: any WallClock, backups: BackupCodec, metrics: MetricsRegistry = MetricsRegistry(),
        release: KeyReleaseAuthority? = nil
    ) {
        self.store = VersionedStore(
            storage: storage, kind: .key, companions: [Self.rotationPolicy, "key-lifetime-rotate", "key-lifetime-notify"])
        self.storage = storage
        self.clock = clock
        self.backups = backups
        self.cache = KeyMaterialCache()
        self.workers = CryptoWorkers()
        self.metrics = metrics
        self.releaseAuthority = release
    }

    /// What a create or import may set besides the material.
    public struct Properties: Sendable {
        public var keyOps: [String]?
        public var attributes: AttributeChanges
        public var exportable: Bool?
        public var tags: [String: String]??
        public var releasePolicy: KeyReleasePolicy??

        public init(
            keyOps: [String]? = nil, attributes: AttributeChanges = .init(), exportable: Bool? = nil, tags: [String: String]?? = nil,
            releasePolicy: KeyReleasePolicy?? = nil
        ) {
            self.keyOps = keyOps
            self.attributes = attributes
            self.exportable = exportable
            self.tags = tags
            self.releasePolicy = releasePolicy
        }
    }

    public typealias Spec = KeySpec

    // MARK: - Management

    /// Creates a key (a new version when the name exists).
    public func create(in vault: VaultName, name: String, spec: Spec, properties: Properties) async throws -> Versioned<KeyVersion> {
        let name = try ObjectName(name, kind: .key)
        let material = try Self.crypto {
            try KeyMaterial.generate(spec.type, size: spec.size, curve: spec.curve, publicExponent: spec.publicExponent)
        }
        return try await addVersion(in: vault, name: name, material: material, properties: properties)
    }

    /// Imports a JWK with its private members; `hsm` marks it as an HSM key.
    public func importKey(in vault: VaultName, name: String, jwk: JsonWebKey, hsm: Bool, properties: Properties) async throws
        -> Versioned<KeyVersion>
    {
        let name = try ObjectName(name, kind: .key)
        var material = try Self.crypto { try KeyMaterial(importing: jwk) }
        if hsm, !material.keyType.isHSM {
            let hsmType: KeyType =
                switch material.keyType.family {
                case .rsa: .rsaHSM
                case .ec: .ecHSM
                case .oct: .octHSM
                }
            material = try Self.crypto { try material.withKeyType(hsmType) }
        }
        var properties = properties
        if properties.keyOps == nil, let ops = jwk.keyOps { properties.keyOps = ops }
        return try await addVersion(in: vault, name: name, material: material, properties: properties, imported: true)
    }

    /// A new version from `material`; `alongside` runs first inside the same transaction (a rotation's claim).
    func addVersion(
        in vault: VaultName, name: ObjectName, material: KeyMaterial, properties: Properties, imported: Bool = false,
        alongside: (@Sendable (any StorageTransaction) async throws -> Void)? = nil
    ) async throws -> Versioned<KeyVersion> {
        let keyOps = try Self.validatedKeyOps(properties.keyOps, for: material)
        let exportable = properties.exportable
        let releasePolicy = properties.releasePolicy ?? nil
        try Self.checkRelease(exportable: exportable ?? false, policy: releasePolicy)
        if case .some(let tags) = properties.tags { try Tags.validate(tags) }
        let now = clock.now
        // Encoded before the transaction: its body runs on the storage's serial write path (SQLite's writer thread).
        let stored = Base64.standardEncoded(material.storedRepresentation)
        let publicKey = material.publicJWK()
        let version = VersionID.from(randomBytes: SecureRandom.bytes(16))
        return try await storage.transaction { [store] transaction in
            try await alongside?(transaction)
            return try await store.addVersion(in: vault, name: name, version: version, transaction: transaction) { version, existing in
                guard existing?.summary.managed != true else { throw CoffreError.managedByCertificate(.key, name: name.display) }
                return KeyVersion(
                    version: version, keyType: material.keyType, material: stored, publicKey: publicKey, keyOps: keyOps,
                    attributes: properties.attributes.applied(to: ObjectAttributes(created: now, updated: now), at: now),
                    exportable: exportable, tags: properties.tags ?? nil, releasePolicy: releasePolicy, managed: nil,
                    size: material.keyType.family == .ec ? nil : material.sizeInBits, curve: material.curve, imported: imported ? true : nil)
            }
        }
    }

    public func get(in vault: VaultName, name: String, version: String?) async throws -> Versioned<KeyVersion> {
        try await store.get(in: vault, name: ObjectName(name, kind: .key), version: version)
    }

    public func list(in vault: VaultName, after cursor: String?, limit: Int) async throws -> Page<Item> {
        try await store.list(in: vault, after: cursor, limit: limit)
    }

    public func versions(in vault: VaultName, name: String, after cursor: String?, limit: Int) async throws -> Page<Versioned<KeyVersion>> {
        try await store.versions(in: vault, name: ObjectName(name, kind: .key), after: cursor, limit: limit)
    }

    /// Changes a version's key_ops, attributes, tags or release policy.
    public func update(in vault: VaultName, name: String, version: String?, properties: Properties) async throws -> Versioned<KeyVersion> {
        if case .some(.some(let tags)) = properties.tags { try Tags.validate(tags) }
        let now = clock.now
        return try await store.update(in: vault, name: ObjectName(name, kind: .key), version: version) { record in
            guard record.managed != true else { throw CoffreError.managedByCertificate(.key, name: name) }
            if let keyOps = properties.keyOps {
                record.keyOps = try Self.validatedKeyOps(keyOps, for: record.keyType, curve: record.curve, size: record.size)
            }
            if let tags = properties.tags { record.tags = tags }
            if let exportable = properties.exportable {
                guard exportable == (record.exportable ?? false) else {
                    throw CoffreError.badParameter("The exportable attribute cannot change after a key version is created.")
                }
            }
            if let releasePolicy = properties.releasePolicy {
                if record.releasePolicy?.immutable == true {
                    throw CoffreError.badParameter("AKV.SKR.1020: Immutable Key Release Policy cannot be modified.")
                }
                try Self.checkRelease(exportable: record.exportable ?? false, policy: releasePolicy)
                record.releasePolicy = releasePolicy
            }
            record.attributes = properties.attributes.applied(to: record.attributes, at: now)
        }
    }

    public func delete(in vault: VaultRecord, name: String) async throws -> Versioned<KeyVersion> {
        let now = clock.now
        let deletion = Deletion(deletedDate: now, scheduledPurgeDate: now + Int64(vault.retentionDays) * Seconds.day)
        let objectName = try ObjectName(name, kind: .key)
        if try await store.head(in: vault.name, name: objectName)?.summary.managed == true {
            throw CoffreError.managedByCertificate(.key, name: objectName.display)
        }
        return try await store.delete(in: vault.name, name: objectName, deletion: deletion)
    }

    public func deleted(in vault: VaultName, name: String) async throws -> Versioned<KeyVersion> {
        try await store.deleted(in: vault, name: ObjectName(name, kind: .key))
    }

    public func listDeleted(in vault: VaultName, after cursor: String?, limit: Int) async throws -> Page<Item> {
        try await store.listDeleted(in: vault, after: cursor, limit: limit)
    }

    public func recover(in vault: VaultName, name: String) async throws -> Versioned<KeyVersion> {
        try await store.recover(in: vault, name: ObjectName(name, kind: .key))
    }

    public func purge(in vault: VaultRecord, name: String) async throws {
        guard !vault.purgeProtection else { throw CoffreError.purgeProtected(vault: vault.name.value) }
        try await store.purge(in: vault.name, name: ObjectName(name, kind: .key))
    }

    func purgeIfDue(in vault: VaultName, name: String, now: Int64) async throws -> Bool {
        try await store.purgeIfDue(in: vault, name: ObjectName(name, kind: .key), now: now)
    }

    struct Backup: Codable {
        var head: Item
        var versions: [KeyVersion]
        var rotationPolicy: KeyRotationPolicy?
    }

    public func backup(in vault: VaultName, name: String) async throws -> String {
        let objectName = try ObjectName(name, kind: .key)
        let (head, versions) = try await store.export(in: vault, name: objectName)
        let policy = try await storage.read(KeyRotationPolicy.self, at: store.companionKey(Self.rotationPolicy, vault, objectName))
        return try backups.seal(Backup(head: head, versions: versions, rotationPolicy: policy), kind: .key)
    }

    public func restore(in vault: VaultName, blob: String) async throws -> Versioned<KeyVersion> {
        let backup = try backups.open(blob, as: Backup.self, kind: .key)
        let policyKey = try store.companionKey(Self.rotationPolicy, vault, ObjectName(backup.head.name, kind: .key))
        return try await storage.transaction { transaction in
            let restored = try await store.restore(in: vault, head: backup.head, versions: backup.versions, transaction: transaction)
            if let policy = backup.rotationPolicy { try await transaction.write(policy, at: policyKey) }
            return restored
        }
    }

    // MARK: - Rotation

    /// A new version with the latest version's type, size, curve, key_ops, tags and release settings; its expiry
    /// follows the rotation policy's `expiryTime`.
    public func rotate(in vault: VaultName, name: String) async throws -> Versioned<KeyVersion> {
        try await rotate(in: vault, name: name, alongside: nil)
    }

    /// A rotation whose `alongside` (the rotation service's claim) is written in the new version's transaction.
    func rotate(in vault: VaultName, name: String, alongside: (@Sendable (any StorageTransaction) async throws -> Void)?) async throws
        -> Versioned<KeyVersion>
    {
        let latest = try await get(in: vault, name: name, version: nil)
        let record = latest.record
        guard record.managed != true else { throw CoffreError.managedByCertificate(.key, name: latest.name) }
        let policy = try await rotationPolicy(in: vault, name: name)
        let material = try Self.crypto {
            try KeyMaterial.generate(record.keyType, size: record.size, curve: record.curve)
        }
        var attributes = AttributeChanges(enabled: true)
        if let expiry = policy.expiryTime { attributes.expires = .some(clock.now + (try ISODuration.seconds(expiry))) }
        let properties = Properties(
            keyOps: record.keyOps, attributes: attributes, exportable: record.exportable, tags: .some(record.tags),
            releasePolicy: .some(record.releasePolicy))
        return try await addVersion(
            in: vault, name: try ObjectName(name, kind: .key), material: material, properties: properties, alongside: alongside)
    }

    public func rotationPolicy(in vault: VaultName, name: String) async throws -> KeyRotationPolicy {
        let objectName = try ObjectName(name, kind: .key)
        _ = try await store.get(in: vault, name: objectName, version: nil)
        return try await storage.read(KeyRotationPolicy.self, at: store.companionKey(Self.rotationPolicy, vault, objectName)) ?? .default
    }

    public func setRotationPolicy(in vault: VaultName, name: String, policy: KeyRotationPolicy) async throws -> KeyRotationPolicy {
        let objectName = try ObjectName(name, kind: .key)
        let policy = try policy.validated()
        let now = clock.now
        let key = store.companionKey(Self.rotationPolicy, vault, objectName)
        let liveKey = store.liveKey(vault, objectName)
        return try await storage.transaction { transaction in
            guard try await transaction.get(liveKey) != nil else { throw CoffreError.notFound(.key, name: objectName.display) }
            var stored = policy
            stored.created = try await transaction.read(KeyRotationPolicy.self, at: key)?.created ?? now
            stored.updated = now
            try await transaction.write(stored, at: key)
            return stored
        }
    }

    /// Every key with a stored rotation policy in a vault (for the rotation service).
    func rotationPolicies(in vault: VaultName) async throws -> [(name: String, policy: KeyRotationPolicy)] {
        let prefix = "v/\(vault)/\(Self.rotationPolicy)/"
        return try await storage.readAll(KeyRotationPolicy.self, prefix: prefix).map { (String($0.key.dropFirst(prefix.count)), $0.record) }
    }

    /// `count` random bytes (1–128).
    public func randomBytes(_ count: Int) throws -> [UInt8] {
        guard (1...128).contains(count) else {
            throw CoffreError.badParameter("GetRandomBytesRequest: count cannot be greater than 128 or less than 1")
        }
        return SecureRandom.bytes(count)
    }

    // MARK: - Rules

    static func validatedKeyOps(_ requested: [String]?, for material: KeyMaterial) throws -> [String] {
        try validatedKeyOps(
            requested, for: material.keyType, curve: material.curve, size: material.keyType.family == .oct ? material.sizeInBits : nil)
    }

    /// Key Vault's default key_ops per type, or the requested ones if the type supports each (`import` and `export`
    /// are accepted as Key Vault accepts them).
    static func validatedKeyOps(_ requested: [String]?, for type: KeyType, curve: CurveName?, size: Int?) throws -> [String] {
        let supported = KeyMaterial.algorithms(for: type, curve: curve, size: size).operations
        guard let requested else {
            return type.family == .oct ? ["encrypt", "decrypt", "wrapKey", "unwrapKey"] : supported
        }
        var result: [String] = []
        for operation in requested {
            guard let canonical = (supported + ["import", "export"]).first(where: { $0.lowercased() == operation.lowercased() }) else {
                throw CoffreError.badParameter("Key operation '\(operation)' is not valid for a \(type.rawValue) key.")
            }
            if !result.contains(canonical) { result.append(canonical) }
        }
        return result
    }

    static func checkRelease(exportable: Bool, policy: KeyReleasePolicy?) throws {
        if exportable, policy == nil { throw CoffreError.badParameter("Exportable keys must have release policy.") }
        if !exportable, policy != nil { throw CoffreError.badParameter("Non-exportable keys must not have release policy.") }
        if let data = policy?.data, Base64.decode(data) == nil {
            throw CoffreError.badParameter("The release policy's data must be base64url.")
        }
    }
}

/// Parsed key material by version: a hot key is not unsealed and parsed per request. Versions never change, so an
/// entry never goes stale; the cache is bounded and emptied when full.
final class KeyMaterialCache: Sendable {
    private let entries = Mutex<[String: KeyMaterial]>([:])
    private let limit = 4096

    func material(for key: String, load: () throws -> KeyMaterial) throws -> KeyMaterial {
        if let cached = entries.withLock({ $0[key] }) { return cached }
        let material = try load()
        entries.withLock { entries in
            if entries.count >= limit { entries.removeAll(keepingCapacity: true) }
            entries[key] = material
        }
        return material
    }
}
