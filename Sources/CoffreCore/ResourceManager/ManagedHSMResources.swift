import CoffreModel
import CoffreStorage

/// `Microsoft.KeyVault/managedHSMs` over the server's Managed HSM pools: a pool made here is the one `coffre hsm list`
/// shows and its own host serves (not activated until its security domain is downloaded), and the other way round
/// (pools made by `coffre hsm create` are in the group `default`). Roles apply from the pool's group up.
extension ResourceManager {
    static let managedHSMType = "Microsoft.KeyVault/managedHSMs"

    /// What a `PUT` of a pool says.
    public struct ManagedHSMChanges: Sendable {
        public var location: String?
        public var tags: [String: String]?
        public var tenantId: String?
        public var sku: String?
        /// `initialAdminObjectIds`: the caller when empty.
        public var administrators: [String]
        public var retentionDays: Int?
        public var purgeProtection: Bool?

        public init(
            location: String? = nil, tags: [String: String]? = nil, tenantId: String? = nil, sku: String? = nil, administrators: [String] = [],
            retentionDays: Int? = nil, purgeProtection: Bool? = nil
        ) {
            self.location = location
            self.tags = tags
            self.tenantId = tenantId
            self.sku = sku
            self.administrators = administrators
            self.retentionDays = retentionDays
            self.purgeProtection = purgeProtection
        }
    }

    /// Creates a pool (`PUT`); a pool of that name already in the group is answered as it is. Returns the pool and
    /// whether it is new.
    public func createManagedHSM(_ grants: Grants, group: String, name: String, _ changes: ManagedHSMChanges) async throws
        -> (pool: ManagedHSMPool, created: Bool)
    {
        let poolName = try ManagedHSMName(name)
        try await checkInGroup(grants, ResourceAction.writeManagedHSM, group: group, type: Self.managedHSMType, name: name)
        try checkTenant(changes.tenantId)
        if let sku = changes.sku, sku.lowercased() != "standard_b1", sku.lowercased() != "custom_b32" {
            throw ResourceManagerError.badRequest(code: "InvalidParameter", message: "The SKU '\(sku)' is not Standard_B1 or Custom_B32.")
        }
        let resourceGroup = try await existingGroup(group)
        if let existing = try await findManagedHSM(name) {
            guard existing.isIn(resourceGroup: group) else {
                throw CoffreError.conflict("A Managed HSM named \(name) already exists in another resource group.")
            }
            return (existing, false)
        }
        let settings = ManagedHSMDirectory.Settings(
            tenantId: tenantId, administrators: changes.administrators.isEmpty ? [grants.caller.objectId] : changes.administrators,
            retentionDays: changes.retentionDays ?? 90, purgeProtection: changes.purgeProtection ?? false,
            resource: ManagedHSMResource(resourceGroup: resourceGroup.name, location: changes.location ?? resourceGroup.location, tags: changes.tags))
        return (try await managedHSMs.create(poolName, settings: settings), true)
    }

    public func managedHSM(_ grants: Grants, group: String, name: String) async throws -> ManagedHSMPool {
        let pool = try await existingManagedHSM(group: group, name: name)
        try await checkInGroup(grants, ResourceAction.readManagedHSM, group: group, type: Self.managedHSMType, name: name)
        return pool
    }

    /// The pools of a group, or of the subscription (`group` nil), that the caller may read.
    public func listManagedHSMs(_ grants: Grants, group: String?) async throws -> [ManagedHSMPool] {
        if let group { _ = try await existingGroup(group) }
        var visible: [ManagedHSMPool] = []
        for pool in try await managedHSMs.list() where group.map({ pool.isIn(resourceGroup: $0) }) ?? true {
            if try await authorization.allows(grants, ResourceAction.readManagedHSM, at: .resourceGroup(pool.group)) { visible.append(pool) }
        }
        return visible
    }

    /// Deletes a pool with its keys, roles and settings. Returns false when there was no such pool (ARM's 204).
    public func deleteManagedHSM(_ grants: Grants, group: String, name: String) async throws -> Bool {
        _ = try await existingGroup(group)
        try await checkInGroup(grants, ResourceAction.deleteManagedHSM, group: group, type: Self.managedHSMType, name: name)
        guard let pool = try await findManagedHSM(name), pool.isIn(resourceGroup: group) else { return false }
        do {
            try await managedHSMs.delete(pool.name)
        } catch ManagedHSMError.poolNotFound {
            return false // deleted meanwhile
        }
        return true
    }

    func existingManagedHSM(group: String, name: String) async throws -> ManagedHSMPool {
        _ = try await existingGroup(group)
        return try member(try await findManagedHSM(name), of: group, type: Self.managedHSMType, name: name)
    }

    /// The pool of that name, if the name is a pool name and such a pool exists.
    func findManagedHSM(_ name: String) async throws -> ManagedHSMPool? {
        guard let poolName = try? ManagedHSMName(name) else { return nil }
        do {
            return try await managedHSMs.get(poolName)
        } catch ManagedHSMError.poolNotFound {
            return nil
        }
    }
}
