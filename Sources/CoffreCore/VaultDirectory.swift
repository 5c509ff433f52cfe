import CoffreModel
import CoffreStorage

/// The vaults of the server and their access policies (`sys/vaults/{name}`).
public struct VaultDirectory: Sendable {
    let storage: any StorageBackend
    let clock: any WallClock

    public init(storage: any StorageBackend, clock: any WallClock) {
        self.storage = storage
        self.clock = clock
    }

    static func key(_ name: VaultName) -> String { "sys/vaults/\(name)" }

    public struct Settings: Sendable {
        public var retentionDays: Int
        public var purgeProtection: Bool
        public var rbacAuthorization: Bool

        public init(retentionDays: Int = 90, purgeProtection: Bool = false, rbacAuthorization: Bool = false) {
            self.retentionDays = retentionDays
            self.purgeProtection = purgeProtection
            self.rbacAuthorization = rbacAuthorization
        }
    }

    /// Creates a vault; its creator receives every permission, as in Azure. `alongside` writes what comes with the vault
    /// (its creator's role assignment) in the same transaction.
    public func create(
        _ name: VaultName, settings: Settings, owner: AccessPolicy?, alongside: (@Sendable (any StorageTransaction) async throws -> Void)? = nil
    ) async throws -> VaultRecord {
        guard VaultRecord.retentionRange.contains(settings.retentionDays) else {
            throw CoffreError.badParameter(
                "The retention period must be between \(VaultRecord.retentionRange.lowerBound) and "
                    + "\(VaultRecord.retentionRange.upperBound) days.")
        }
        let record = VaultRecord(
            name: name, created: clock.now, retentionDays: settings.retentionDays, purgeProtection: settings.purgeProtection,
            rbacAuthorization: settings.rbacAuthorization, accessPolicies: owner.map { [$0] } ?? [])
        return try await storage.transaction { transaction in
            guard try await transaction.get(Self.key(name)) == nil else {
                throw CoffreError.conflict("A vault named \(name) already exists.")
            }
            // Pools keep their keys where a vault of their name would (ManagedHSMPaths): the names must stay apart.
            guard try await transaction.get(ManagedHSMPaths.poolsPrefix + name.value) == nil else {
                throw CoffreError.conflict("A Managed HSM is named \(name): a vault cannot take its name.")
            }
            try await transaction.write(record, at: Self.key(name))
            try await alongside?(transaction)
            return record
        }
    }

    public func get(_ name: VaultName) async throws -> VaultRecord {
        guard let record = try await storage.read(VaultRecord.self, at: Self.key(name)) else {
            throw CoffreError.vaultNotFound(name.value)
        }
        return record
    }

    public func list() async throws -> [VaultRecord] {
        try await storage.readAll(VaultRecord.self, prefix: "sys/vaults/").map(\.record)
    }

    /// Deletes the vault with every object in it and every role assigned at its scopes (a vault made later under the
    /// same name starts without them).
    public func delete(_ name: VaultName) async throws {
        try await storage.transaction { transaction in
            guard try await transaction.get(Self.key(name)) != nil else { throw CoffreError.vaultNotFound(name.value) }
            try await transaction.delete(Self.key(name))
            try await transaction.deletePrefix("v/\(name)/")
            try await transaction.deletePrefix(RoleAssignments.prefix(name))
        }
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
