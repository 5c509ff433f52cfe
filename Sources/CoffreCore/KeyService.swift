import CoffreCrypto
import CoffreKeyCustody
import CoffreModel
import CoffreStorage
import Foundation
import Synchronization

/// The Keys API: key management, rotation policies and the cryptographic operations, independent of HTTP.
///
/// Private keys live in a custody (``RoutingCustody``): software keys sealed in the barrier with their record, `-HSM`
/// keys in a PKCS#11 token when a module is configured. A version's `material` is what the custody gives to keep
/// (`CustodyKey.storedRepresentation`); a token key's object is named ``label(_:_:_:)``, made before the version's
/// transaction and destroyed again when that transaction fails, and destroyed when the key is purged (what a crash
/// leaves behind, ``CustodySweeper`` finds).
public struct KeyService: Sendable {
    public typealias Item = ObjectHead<KeyVersion.Summary>

    let store: VersionedStore<KeyVersion>
    let storage: any StorageBackend
    let clock: any WallClock
    let backups: BackupCodec
    /// Where private keys live and work.
    let custody: RoutingCustody
    let cache: CustodyKeyCache
    /// Where cryptographic operations are counted.
    let metrics: MetricsRegistry
    /// Who verifies attestations and signs release statements (nil: keys cannot be released).
    let releaseAuthority: KeyReleaseAuthority?

    static let rotationPolicy = "key-rotationpolicy"

    /// - Parameters:
    ///   - custody: where private keys live (default: software only, `-HSM` keys included).
    ///   - metrics: counts cryptographic operations by operation and algorithm.
    ///   - release: what key release needs from outside Core; without it, release is refused.
    public init(
        storage: any StorageBackend, clock: any WallClock, backups: BackupCodec, custody: RoutingCustody = RoutingCustody(hardware: nil),
        metrics: MetricsRegistry = MetricsRegistry(), release: KeyReleaseAuthority? = nil
    ) {
        self.store = VersionedStore(
            storage: storage, kind: .key, companions: [Self.rotationPolicy, "key-lifetime-rotate", "key-lifetime-notify"])
        self.storage = storage
        self.clock = clock
        self.backups = backups
        self.custody = custody
        self.cache = CustodyKeyCache()
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
        let curve = spec.type.family == .ec ? try Self.crypto { try CurveName.chosen(curve: spec.curve, size: spec.size) } : nil
        let policy = try Self.checked(properties, for: spec.type, curve: curve, size: spec.type.family == .oct ? spec.size : nil)
        return try await addVersion(in: vault, name: name, properties: properties) { label in
            try await custody.generate(spec, policy: policy, label: label)
        }
    }

    /// Imports a JWK with its private members, or (with `key_hsm`) a key brought in a BYOK transfer blob; `hsm` marks
    /// it as an HSM key.
    public func importKey(in vault: VaultName, name: String, jwk: JsonWebKey, hsm: Bool, properties: Properties) async throws
        -> Versioned<KeyVersion>
    {
        let name = try ObjectName(name, kind: .key)
        var properties = properties
        if properties.keyOps == nil, let ops = jwk.keyOps { properties.keyOps = ops }
        if let blob = jwk.t { return try await importBYOK(in: vault, name: name, jwk: jwk, blob: blob, properties: properties) }
        var material = try Self.crypto { try KeyMaterial(importing: jwk) }
        if hsm, !material.keyType.isHSM {
            material = try Self.crypto { try material.withKeyType(Self.hsmType(of: material.keyType)) }
        }
        let policy = try Self.checked(
            properties, for: material.keyType, curve: material.curve, size: material.keyType.family == .oct ? material.sizeInBits : nil)
        return try await addVersion(in: vault, name: name, properties: properties, imported: true) { [material] label in
            try await custody.importKey(material, policy: policy, label: label)
        }
    }

    /// The `-HSM` type of a key type's family.
    static func hsmType(of type: KeyType) -> KeyType {
        switch type.family {
        case .rsa: .rsaHSM
        case .ec: .ecHSM
        case .oct: .octHSM
        }
    }

    /// Adds a version whose key `make` brings (given the label of the version's token object). The version id is
    /// drawn first, so the object is named after it; when anything fails after the key is made, it is destroyed again.
    /// `imported`: the key came from outside (what key attestation states).
    /// `alongside` runs first inside the version's transaction (a rotation's claim).
    func addVersion(
        in vault: VaultName, name: ObjectName, properties: Properties, imported: Bool = false,
        alongside: (@Sendable (any StorageTransaction) async throws -> Void)? = nil, make: (String) async throws -> CustodyKey
    ) async throws -> Versioned<KeyVersion> {
        let version = VersionID.from(randomBytes: SecureRandom.bytes(16))
        let key = try await Self.custodial { try await make(Self.label(vault, name, version)) }
        return try await destroyingOnFailure([key]) {
            let keyOps = try Self.validatedKeyOps(properties.keyOps, for: key)
            let exportable = properties.exportable
            let releasePolicy = properties.releasePolicy ?? nil
            let now = clock.now(in: vault)
            // Encoded before the transaction: its body runs on the storage's serial write path (SQLite's writer thread).
            let stored = Base64.standardEncoded(key.storedRepresentation)
            let publicKey = key.publicJWK()
            return try await storage.transaction { [store] transaction in
                try await alongside?(transaction)
                return try await store.addVersion(in: vault, name: name, version: version, transaction: transaction) { version, existing in
                    guard existing?.summary.managed != true else { throw CoffreError.managedByCertificate(.key, name: name.display) }
                    return KeyVersion(
                        version: version, keyType: key.keyType, material: stored, publicKey: publicKey, keyOps: keyOps,
                        attributes: properties.attributes.applied(to: ObjectAttributes(created: now, updated: now), at: now),
                        exportable: exportable, tags: properties.tags ?? nil, releasePolicy: releasePolicy, managed: nil,
                        size: key.keyType.family == .ec ? nil : key.sizeInBits, curve: key.curve, imported: imported ? true : nil)
                }
            }
        }
    }

    /// The `CKA_LABEL` of a version's token object: `coffre:{vault}/{name}/{version}`, for people reading the token
    /// (`pkcs11-tool --list-objects`) and for ``CustodySweeper``, which finds the version it belongs to.
    public static func label(_ vault: VaultName, _ name: ObjectName, _ version: String) -> String {
        "coffre:\(vault)/\(name.display)/\(version)"
    }

    /// Checks a create's or import's properties before any key is made, and gives the custody policy they ask for.
    static func checked(_ properties: Properties, for type: KeyType, curve: CurveName?, size: Int?) throws -> KeyPolicy {
        let keyOps = try validatedKeyOps(properties.keyOps, for: type, curve: curve, size: size)
        let exportable = properties.exportable ?? false
        try checkRelease(exportable: exportable, policy: properties.releasePolicy ?? nil)
        if case .some(.some(let tags)) = properties.tags { try Tags.validate(tags) }
        let keyExchange = keyOps.contains("import") && type == .rsaHSM
        if keyExchange, keyOps != ["import"] {
            throw CoffreError.badParameter("A key-exchange key (key_ops 'import') can do nothing else: its key_ops must be exactly ['import'].")
        }
        return KeyPolicy(exportable: exportable, keyExchange: keyExchange)
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
        let now = clock.now(in: vault)
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
        let now = clock.now(in: vault.name)
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

    /// Removes a deleted key for good, then destroys its token objects.
    public func purge(in vault: VaultRecord, name: String) async throws {
        guard !vault.purgeProtection else { throw CoffreError.purgeProtected(vault: vault.name.value) }
        let name = try ObjectName(name, kind: .key)
        let erased = try await storage.transaction { transaction in
            let versions = try await self.versions(of: name, in: vault.name, transaction: transaction)
            try await store.purge(in: vault.name, name: name, transaction: transaction)
            return versions.map(\.material)
        }
        await destroyKeys(stored: erased)
    }

    func purgeIfDue(in vault: VaultName, name: String, now: Int64) async throws -> Bool {
        let name = try ObjectName(name, kind: .key)
        let erased = try await storage.transaction { transaction in
            let versions = try await self.versions(of: name, in: vault, transaction: transaction)
            return try await store.purgeIfDue(in: vault, name: name, now: now, transaction: transaction) ? versions.map(\.material) : nil
        }
        guard let erased else { return false }
        await destroyKeys(stored: erased)
        return true
    }

    /// Every stored version of a key (live or deleted), as a purge is about to erase them.
    func versions(of name: ObjectName, in vault: VaultName, transaction: any StorageTransaction) async throws -> [KeyVersion] {
        try await transaction.readAll(KeyVersion.self, prefix: store.versionPrefix(vault, name)).map(\.record)
    }

    /// Destroys the token objects of erased keys (their stored `material`), once their erasure is committed. A failure
    /// leaves the object to ``CustodySweeper``, which destroys objects no record refers to.
    func destroyKeys(stored materials: [String]) async {
        for material in Set(materials) {
            guard let bytes = Base64.decode(material), let key = try? CustodyKey(storedRepresentation: bytes) else { continue }
            try? await custody.destroy(key)
        }
    }

    /// Destroys keys just made that nothing will refer to (what the sweep would otherwise find).
    func destroy(_ keys: [CustodyKey]) async {
        for key in keys { try? await custody.destroy(key) }
    }

    /// Runs `body` with a key just made; if it fails, the key is destroyed, so that nothing is left half-made. A
    /// storage failure may hide a commit (a connection lost as it committed), so then the key is left to
    /// ``CustodySweeper``, which destroys it only if no record refers to it.
    func destroyingOnFailure<T>(_ keys: [CustodyKey], body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            if !(error is StorageError) { await destroy(keys) }
            throw error
        }
    }

    struct Backup: Codable {
        var head: Item
        var versions: [KeyVersion]
        var rotationPolicy: KeyRotationPolicy?
    }

    /// A sealed backup of every version. A version's `material` is the custody's backup of its key: for a software key
    /// its stored form, for a token key the private key wrapped by the token's backup wrapping key (keys do not leave
    /// the HSM boundary in the clear).
    public func backup(in vault: VaultName, name: String) async throws -> String {
        let objectName = try ObjectName(name, kind: .key)
        let (head, versions) = try await store.export(in: vault, name: objectName)
        let policy = try await storage.read(KeyRotationPolicy.self, at: store.companionKey(Self.rotationPolicy, vault, objectName))
        return try backups.seal(Backup(head: head, versions: try await backedUp(versions), rotationPolicy: policy), kind: .key)
    }

    /// Versions as a backup carries them: each `material` is the custody's backup of its key.
    func backedUp(_ versions: [KeyVersion]) async throws -> [KeyVersion] {
        var backedUp: [KeyVersion] = []
        for var version in versions {
            let key = try custodyKey(stored: version.material, cacheID: nil)
            version.material = Base64.standardEncoded(try await Self.custodial { try await custody.backup(key) })
            backedUp.append(version)
        }
        return backedUp
    }

    public func restore(in vault: VaultName, blob: String) async throws -> Versioned<KeyVersion> {
        let backup = try backups.open(blob, as: Backup.self, kind: .key)
        let name = try ObjectName(backup.head.name, kind: .key)
        if try await store.head(in: vault, name: name) != nil {
            throw CoffreError.conflict("Key \(name.display) already exists: a backup can only be restored under a free name.")
        }
        let (versions, restored) = try await restoredKeys(backup.versions, in: vault, name: name)
        let policyKey = store.companionKey(Self.rotationPolicy, vault, name)
        return try await destroyingOnFailure(restored) {
            try await storage.transaction { transaction in
                let result = try await store.restore(in: vault, head: backup.head, versions: versions, transaction: transaction)
                if let policy = backup.rotationPolicy { try await transaction.write(policy, at: policyKey) }
                return result
            }
        }
    }

    /// The versions of a backup with their keys back in custody (a token key becomes a new object of this token), and
    /// the keys restored. Versions that shared a key (a certificate's `reuse_key`) share the restored one.
    func restoredKeys(_ versions: [KeyVersion], in vault: VaultName, name: ObjectName) async throws -> ([KeyVersion], [CustodyKey]) {
        var restored: [String: CustodyKey] = [:]
        var result: [KeyVersion] = []
        do {
            for var version in versions {
                guard let backup = Base64.decode(version.material) else {
                    throw CoffreError.badParameter("The backup blob is not valid: a key version's material is unreadable.")
                }
                let key: CustodyKey
                if let known = restored[version.material] {
                    key = known
                } else {
                    key = try await Self.restoring { try await custody.restore(backup, label: Self.label(vault, name, version.version)) }
                    restored[version.material] = key
                }
                version.material = Base64.standardEncoded(key.storedRepresentation)
                result.append(version)
            }
        } catch {
            await destroy(Array(restored.values))
            throw error
        }
        return (result, Array(restored.values))
    }

    /// A hardware key backup that cannot be restored here says why, in the words of the rule it meets.
    static func restoring<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await custodial(body)
        } catch let failure as CustodyFailure {
            switch failure {
            case .noModule, .backupKeyMissing, .backupNotRestorable:
                throw CoffreError.badParameter(
                    "The backup holds a hardware key, and keys do not leave the HSM boundary: it restores only into a Coffre whose "
                        + "PKCS#11 token holds the backup wrapping key it was made under. \(failure)")
            default: throw failure
            }
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
        var attributes = AttributeChanges(enabled: true)
        if let expiry = policy.expiryTime { attributes.expires = .some(clock.now(in: vault) + (try ISODuration.seconds(expiry))) }
        let properties = Properties(
            keyOps: record.keyOps, attributes: attributes, exportable: record.exportable, tags: .some(record.tags),
            releasePolicy: .some(record.releasePolicy))
        let keyPolicy = try Self.checked(
            properties, for: record.keyType, curve: record.curve, size: record.keyType.family == .oct ? record.size : nil)
        let spec = Spec(type: record.keyType, size: record.size, curve: record.curve)
        return try await addVersion(in: vault, name: try ObjectName(name, kind: .key), properties: properties, alongside: alongside) { label in
            try await custody.generate(spec, policy: keyPolicy, label: label)
        }
    }

    public func rotationPolicy(in vault: VaultName, name: String) async throws -> KeyRotationPolicy {
        let objectName = try ObjectName(name, kind: .key)
        _ = try await store.get(in: vault, name: objectName, version: nil)
        return try await storage.read(KeyRotationPolicy.self, at: store.companionKey(Self.rotationPolicy, vault, objectName)) ?? .default
    }

    public func setRotationPolicy(in vault: VaultName, name: String, policy: KeyRotationPolicy) async throws -> KeyRotationPolicy {
        let objectName = try ObjectName(name, kind: .key)
        let policy = try policy.validated()
        let now = clock.now(in: vault)
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

    static func validatedKeyOps(_ requested: [String]?, for key: CustodyKey) throws -> [String] {
        try validatedKeyOps(requested, for: key.keyType, curve: key.curve, size: key.keyType.family == .oct ? key.sizeInBits : nil)
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

/// Custody keys by version, read from their stored form once: a hot key is not unsealed and parsed per request. An
/// entry is used only for the stored form it was read from (a purged version id can come back by restore with a new
/// token object); the cache is bounded and emptied when full.
final class CustodyKeyCache: Sendable {
    private let entries = Mutex<[String: (stored: String, key: CustodyKey)]>([:])
    private let limit = 4096

    func key(for id: String, stored: String, load: () throws -> CustodyKey) throws -> CustodyKey {
        if let cached = entries.withLock({ $0[id] }), cached.stored == stored { return cached.key }
        let key = try load()
        entries.withLock { entries in
            if entries.count >= limit { entries.removeAll(keepingCapacity: true) }
            entries[id] = (stored, key)
        }
        return key
    }
}
