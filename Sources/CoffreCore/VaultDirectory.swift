import CoffreModel
import CoffreStorage
import Synchronization

/// The vaults of the server and their access policies (`sys/vaults/{name}`).
public struct VaultDirectory: Sendable {
    let storage: any StorageBackend
    let clock: any WallClock
    /// Vault records kept in memory when this process is the only writer (SQLite). With PostgreSQL several nodes
    /// write, so every request reads the record: a policy change on one node applies on the next request on all.
    let cache: VaultCache?

    public init(storage: any StorageBackend, clock: any WallClock, cacheRecords: Bool = false) {
        self.storage = storage
        self.clock = clock
        self.cache = cacheRecords ? VaultCache() : nil
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

    /// Creates a vault; its creator receives every permission, as in Azure.
    public func create(_ name: VaultName, settings: Settings, owner: AccessPolicy?) async throws -> VaultRecord {
        guard VaultRecord.retentionRange.contains(settings.retentionDays) else {
            throw CoffreError.badParameter(
                "The retention period must be between \(VaultRecord.retentionRange.lowerBound) and "
                    + "\(VaultRecord.retentionRange.upperBound) days.")
        }
        let record = VaultRecord(
            name: name, created: clock.now, retentionDays: settings.retentionDays, purgeProtection: settings.purgeProtection,
            rbacAuthorization: settings.rbacAuthorization, accessPolicies: owner.map { [$0] } ?? [])
        cache?.remove(name)
        return try await storage.transaction { transaction in
            guard try await transaction.get(Self.key(name)) == nil else {
                throw CoffreError.conflict("A vault named \(name) already exists.")
            }
            try await transaction.write(record, at: Self.key(name))
            return record
        }
    }

    public func get(_ name: VaultName) async throws -> VaultRecord {
        let generation = cache?.generation
        if let cached = cache?.get(name) { return cached }
        guard let record = try await storage.read(VaultRecord.self, at: Self.key(name)) else {
            throw CoffreError.vaultNotFound(name.value)
        }
        if let generation { cache?.set(record, ifStill: generation) }
        return record
    }

    public func list() async throws -> [VaultRecord] {
        try await storage.readAll(VaultRecord.self, prefix: "sys/vaults/").map(\.record)
    }

    /// Deletes the vault with every object in it.
    public func delete(_ name: VaultName) async throws {
        defer { cache?.remove(name) }
        try await storage.transaction { transaction in
            guard try await transaction.get(Self.key(name)) != nil else { throw CoffreError.vaultNotFound(name.value) }
            try await transaction.delete(Self.key(name))
            try await transaction.deletePrefix("v/\(name)/")
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
        defer { cache?.remove(name) }
        return try await storage.transaction { transaction in
            guard var record = try await transaction.read(VaultRecord.self, at: Self.key(name)) else {
                throw CoffreError.vaultNotFound(name.value)
            }
            try change(&record)
            try await transaction.write(record, at: Self.key(name))
            return record
        }
    }
}

/// Vault records by name, for a single-writer server. Every change bumps a generation: a record read before a
/// change is not cached after it.
final class VaultCache: Sendable {
    private let state = Mutex<(records: [VaultName: VaultRecord], generation: UInt64)>(([:], 0))

    var generation: UInt64 { state.withLock { $0.generation } }
    func get(_ name: VaultName) -> VaultRecord? { state.withLock { $0.records[name] } }

    func set(_ record: VaultRecord, ifStill generation: UInt64) {
        state.withLock { if $0.generation == generation { $0.records[record.name] = record } }
    }

    func remove(_ name: VaultName) {
        state.withLock {
            $0.records[name] = nil
            $0.generation += 1
        }
    }
}
