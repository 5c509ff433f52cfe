import CoffreModel
import CoffreStorage

/// The vaults of the server and their access policies (`sys/vaults/{name}`), and the soft-deleted ones
/// (`sys/deleted-vaults/{name}`), whose objects stay under `v/{name}/` until they are purged.
///
/// The `static` functions work inside a transaction the caller holds, so that a caller that checks more (the resource
/// manager checks the resource group) writes everything in one transaction.
public struct VaultDirectory: Sendable {
    let storage: any StorageBackend
    let clock: any WallClock

    public init(storage: any StorageBackend, clock: any WallClock) {
        self.storage = storage
        self.clock = clock
    }

    static func key(_ name: VaultName) -> String { "sys/vaults/\(name)" }
    static func deletedKey(_ name: VaultName) -> String { "sys/deleted-vaults/\(name)" }
    /// The purge schedule's entry for a deleted vault (read by ``PurgeSweeper``).
    static func purgeKey(_ deleted: DeletedVaultRecord) -> String {
        PurgeSchedule.key(date: deleted.scheduledPurgeDate, vault: deleted.vault.name, segment: PurgeSchedule.vaultSegment, name: "-")
    }

    public struct Settings: Sendable {
        public var retentionDays: Int
        public var purgeProtection: Bool
        public var rbacAuthorization: Bool
        /// `nil`: the default resource group.
        public var resourceGroup: String?
        public var resource: VaultResourceSettings?

        public init(
            retentionDays: Int = 90, purgeProtection: Bool = false, rbacAuthorization: Bool = false, resourceGroup: String? = nil,
            resource: VaultResourceSettings? = nil
        ) {
            self.retentionDays = retentionDays
            self.purgeProtection = purgeProtection
            self.rbacAuthorization = rbacAuthorization
            self.resourceGroup = resourceGroup
            self.resource = resource
        }
    }

    /// The record of a new vault, its settings checked.
    public static func record(
        _ name: VaultName, settings: Settings, accessPolicies: [AccessPolicy], created: Int64
    ) throws -> VaultRecord {
        try checkRetention(settings.retentionDays)
        return VaultRecord(
            name: name, created: created, retentionDays: settings.retentionDays, purgeProtection: settings.purgeProtection,
            rbacAuthorization: settings.rbacAuthorization, accessPolicies: accessPolicies, resourceGroup: settings.resourceGroup,
            resource: settings.resource)
    }

    static func checkRetention(_ days: Int) throws {
        guard VaultRecord.retentionRange.contains(days) else {
            throw CoffreError.badParameter(
                "The retention period must be between \(VaultRecord.retentionRange.lowerBound) and "
                    + "\(VaultRecord.retentionRange.upperBound) days.")
        }
    }

    /// Creates a vault; its creator receives every permission, as in Azure. `alongside` writes what comes with the vault
    /// (its creator's role assignment) in the same transaction.
    public func create(
        _ name: VaultName, settings: Settings, owner: AccessPolicy?, alongside: (@Sendable (any StorageTransaction) async throws -> Void)? = nil
    ) async throws -> VaultRecord {
        let record = try Self.record(name, settings: settings, accessPolicies: owner.map { [$0] } ?? [], created: clock.now(in: name))
        return try await storage.transaction { transaction in
            try await Self.insert(record, in: transaction)
            try await alongside?(transaction)
            return record
        }
    }

    // MARK: - Inside a transaction

    public static func live(_ name: VaultName, in reader: any StorageReader) async throws -> VaultRecord? {
        try await reader.read(VaultRecord.self, at: key(name))
    }

    public static func deleted(_ name: VaultName, in reader: any StorageReader) async throws -> DeletedVaultRecord? {
        try await reader.read(DeletedVaultRecord.self, at: deletedKey(name))
    }

    /// Writes a new vault; its name must be free, also of soft-deleted vaults.
    public static func insert(_ record: VaultRecord, in transaction: any StorageTransaction) async throws {
        guard try await transaction.get(key(record.name)) == nil else {
            throw CoffreError.conflict("A vault named \(record.name) already exists.")
        }
        guard try await transaction.get(deletedKey(record.name)) == nil else {
            throw CoffreError.conflict(
                "A vault named \(record.name) is deleted but recoverable: recover it, or purge it before reusing its name.")
        }
        // Pools keep their keys where a vault of their name would (ManagedHSMPaths): the names must stay apart.
        guard try await transaction.get(ManagedHSMPaths.poolsPrefix + record.name.value) == nil else {
            throw CoffreError.conflict("A Managed HSM is named \(record.name): a vault cannot take its name.")
        }
        try await transaction.write(record, at: key(record.name))
    }

    /// Replaces an existing vault's record.
    public static func update(_ record: VaultRecord, in transaction: any StorageTransaction) async throws {
        guard try await transaction.get(key(record.name)) != nil else { throw CoffreError.vaultNotFound(record.name.value) }
        try checkRetention(record.retentionDays)
        try await transaction.write(record, at: key(record.name))
    }

    /// Moves a vault to the deleted vaults, its objects kept, to be purged after its retention period.
    public static func softDelete(_ name: VaultName, now: Int64, in transaction: any StorageTransaction) async throws -> DeletedVaultRecord {
        guard let vault = try await live(name, in: transaction) else { throw CoffreError.vaultNotFound(name.value) }
        let deleted = DeletedVaultRecord(vault: vault, deletedDate: now, scheduledPurgeDate: now + Int64(vault.retentionDays) * Seconds.day)
        try await transaction.delete(key(name))
        try await transaction.write(deleted, at: deletedKey(name))
        try await transaction.put(purgeKey(deleted), [])
        return deleted
    }

    /// Removes every trace of a vault: its record (live or deleted), its objects and its role assignments.
    static func erase(_ name: VaultName, in transaction: any StorageTransaction) async throws {
        try await transaction.delete(key(name))
        try await transaction.delete(deletedKey(name))
        try await transaction.deletePrefix("v/\(name)/")
        try await transaction.deletePrefix(RoleAssignments.prefix(name))
    }

    // MARK: - Operations

    public func get(_ name: VaultName) async throws -> VaultRecord {
        guard let record = try await storage.read(VaultRecord.self, at: Self.key(name)) else {
            throw CoffreError.vaultNotFound(name.value)
        }
        return record
    }

    public func list() async throws -> [VaultRecord] {
        try await storage.readAll(VaultRecord.self, prefix: "sys/vaults/").map(\.record)
    }

    /// Deletes the vault with every object in it and every role assigned at its scopes at once (the server's own
    /// `coffre vault delete`; a vault made later under the same name starts without them).
    public func delete(_ name: VaultName) async throws {
        try await storage.transaction { transaction in
            guard try await transaction.get(Self.key(name)) != nil else { throw CoffreError.vaultNotFound(name.value) }
            try await Self.erase(name, in: transaction)
        }
    }

    /// Soft-deletes a vault (Azure's way): recoverable until purged.
    public func softDelete(_ name: VaultName) async throws -> DeletedVaultRecord {
        let now = clock.now(in: name)
        return try await storage.transaction { try await Self.softDelete(name, now: now, in: $0) }
    }

    public func deletedVaults() async throws -> [DeletedVaultRecord] {
        try await storage.readAll(DeletedVaultRecord.self, prefix: "sys/deleted-vaults/").map(\.record)
    }

    public func deletedVault(_ name: VaultName) async throws -> DeletedVaultRecord {
        guard let deleted = try await storage.read(DeletedVaultRecord.self, at: Self.deletedKey(name)) else {
            throw CoffreError.vaultNotFound(name.value)
        }
        return deleted
    }

    /// Purges a deleted vault and everything in it; refused before its date when it has purge protection.
    public func purge(_ name: VaultName) async throws {
        let now = clock.now(in: name)
        try await storage.transaction { transaction in
            guard let deleted = try await Self.deleted(name, in: transaction) else { throw CoffreError.vaultNotFound(name.value) }
            guard !deleted.vault.purgeProtection || deleted.scheduledPurgeDate <= now else {
                throw CoffreError.purgeProtected(vault: name.value)
            }
            try await Self.erase(name, in: transaction)
        }
    }

    /// Purges a deleted vault whose scheduled purge date has passed (the sweeper); false when there is none due.
    func purgeIfDue(_ name: VaultName, now: Int64) async throws -> Bool {
        try await storage.transaction { transaction in
            guard let deleted = try await Self.deleted(name, in: transaction), deleted.scheduledPurgeDate <= now else { return false }
            try await Self.erase(name, in: transaction)
            return true
        }
    }

    /// Brings a deleted vault back, with its objects and role assignments.
    public func recover(_ name: VaultName) async throws -> VaultRecord {
        try await storage.transaction { try await Self.recover(name, in: $0) }
    }

    public static func recover(_ name: VaultName, in transaction: any StorageTransaction) async throws -> VaultRecord {
        guard let deleted = try await deleted(name, in: transaction) else { throw CoffreError.vaultNotFound(name.value) }
        try await transaction.delete(deletedKey(name))
        try await transaction.delete(purgeKey(deleted))
        try await transaction.write(deleted.vault, at: key(name))
        return deleted.vault
    }

    /// Adds or replaces one principal's access policy (the shape of `az keyvault set-policy`).
    public func setPolicy(_ policy: AccessPolicy, on name: VaultName) async throws -> VaultRecord {
        try await modify(name) { record in
            if let index = record.accessPolicies.firstIndex(where: { $0.objectId == policy.objectId }) {
                record.accessPolicies[index] = policy
            } else {
                record.accessPolicies.append(policy)
            }
        }
    }

    public func deletePolicy(objectId: String, on name: VaultName) async throws -> VaultRecord {
        try await modify(name) { record in
            guard record.accessPolicies.contains(where: { $0.objectId == objectId }) else {
                throw CoffreError.principalNotFound(objectId)
            }
            record.accessPolicies.removeAll { $0.objectId == objectId }
        }
    }

    private func modify(_ name: VaultName, _ change: @escaping @Sendable (inout VaultRecord) throws -> Void) async throws -> VaultRecord {
        try await storage.transaction { transaction in
            guard var record = try await transaction.read(VaultRecord.self, at: Self.key(name)) else {
                throw CoffreError.vaultNotFound(name.value)
            }
            try change(&record)
            try await transaction.write(record, at: Self.key(name))
            return record
        }
    }
}
