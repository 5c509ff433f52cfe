import CoffreAuth
import CoffreBlob
import CoffreDirectory
import CoffreModel
import CoffreStorage

/// Azure Resource Manager over Coffre's own vaults and roles: the subscription, resource groups,
/// `Microsoft.KeyVault/vaults` and `Microsoft.Authorization`. A vault made here is the vault the data plane serves and
/// `coffre vault list` shows; every call is authorised by the caller's roles at the scope it touches.
public struct ResourceManager: Sendable {
    let storage: any StorageBackend
    let clock: any WallClock
    let vaults: VaultDirectory
    let groups: ResourceGroups
    let roleAssignments: RoleAssignments
    let storageAccounts: StorageAccountDirectory
    let managedHSMs: ManagedHSMDirectory
    public let authorization: ResourceAuthorization
    public let tenantId: String
    public let subscriptionId: String

    /// The location of the default resource group (Coffre runs where it runs).
    public static let location = "local"

    public init(
        storage: any StorageBackend, clock: any WallClock, vaults: VaultDirectory, roleAssignments: RoleAssignments,
        storageAccounts: StorageAccountDirectory, managedHSMs: ManagedHSMDirectory, principals: PrincipalDirectory, groups: GroupExpansion,
        tenantId: String
    ) {
        self.storageAccounts = storageAccounts
        self.managedHSMs = managedHSMs
        self.storage = storage
        self.clock = clock
        self.vaults = vaults
        self.groups = ResourceGroups(storage: storage, location: Self.location)
        self.roleAssignments = roleAssignments
        self.tenantId = tenantId
        self.subscriptionId = Subscription.id(forTenant: tenantId)
        self.authorization = ResourceAuthorization(
            principals: principals, groups: groups, roleAssignments: roleAssignments, subscriptionId: subscriptionId)
    }

    public typealias Grants = ResourceAuthorization.Grants

    // MARK: - Subscription

    /// Checks that a path's subscription is this server's.
    public func checkSubscription(_ id: String) throws {
        guard id.lowercased() == subscriptionId else { throw ResourceManagerError.subscriptionNotFound(id) }
    }

    /// The subscriptions the caller may see: this server's, when it holds a role in it.
    public func subscriptions(_ grants: Grants) async throws -> [String] {
        try await authorization.hasAnyRole(grants) ? [subscriptionId] : []
    }

    /// Refuses a caller that holds no role in the subscription.
    public func checkSubscriptionAccess(_ grants: Grants) async throws {
        guard try await authorization.hasAnyRole(grants) else {
            throw ResourceManagerError.authorizationFailed(
                objectId: grants.caller.objectId, action: ResourceAction.readSubscription, scope: "/subscriptions/\(subscriptionId)")
        }
    }

    // MARK: - Resource groups

    public func createOrUpdateGroup(_ grants: Grants, name: String, location: String, tags: [String: String]?) async throws
        -> (group: ResourceGroupRecord, created: Bool)
    {
        try await authorization.check(grants, ResourceAction.writeGroup, at: .resourceGroup(name))
        return try await groups.createOrUpdate(name, location: location, tags: tags, now: clock.now)
    }

    public func group(_ grants: Grants, _ name: String) async throws -> ResourceGroupRecord {
        try await authorization.check(grants, ResourceAction.readGroup, at: .resourceGroup(name))
        return try await existingGroup(name)
    }

    func existingGroup(_ name: String, in reader: (any StorageReader)? = nil) async throws -> ResourceGroupRecord {
        guard let group = try await groups.get(name, in: reader ?? storage) else { throw ResourceManagerError.resourceGroupNotFound(name) }
        return group
    }

    /// The groups whose contents the caller may read.
    public func listGroups(_ grants: Grants) async throws -> [ResourceGroupRecord] {
        var visible: [ResourceGroupRecord] = []
        for group in try await groups.list() where try await authorization.allows(grants, ResourceAction.readGroup, at: .resourceGroup(group.name)) {
            visible.append(group)
        }
        return visible
    }

    /// Deletes a group with everything in it, in one transaction: its vaults are soft-deleted (recoverable until
    /// purged, as Azure does), its storage accounts deleted with their blobs and the roles assigned on it removed.
    /// Returns false when there was no such group.
    public func deleteGroup(_ grants: Grants, _ name: String) async throws -> Bool {
        try await authorization.check(grants, ResourceAction.deleteGroup, at: .resourceGroup(name))
        guard name.lowercased() != VaultRecord.defaultResourceGroup else { throw ResourceManagerError.scopeLocked(name) }
        let now = clock.now
        let members = try await vaults.list().filter { $0.isIn(resourceGroup: name) }.map(\.name)
        let accounts = try await storageAccounts.list().filter { $0.isIn(resourceGroup: name) }.map(\.name)
        return try await storage.transaction { transaction in
            guard try await groups.get(name, in: transaction) != nil else { return false }
            for vault in members where try await VaultDirectory.live(vault, in: transaction)?.isIn(resourceGroup: name) == true {
                _ = try await VaultDirectory.softDelete(vault, now: now, in: transaction)
            }
            for account in accounts where try await StorageAccountDirectory.read(account, in: transaction)?.isIn(resourceGroup: name) == true {
                try await StorageAccountDirectory.delete(account, in: transaction)
            }
            try await RoleAssignments.deleteOnResourceGroup(name, in: transaction)
            try await transaction.delete(ResourceGroups.key(name))
            return true
        }
    }

    // MARK: - Vaults

    /// What a `PUT` or `PATCH` of a vault says; nil fields are left as they are (or take their defaults on creation).
    public struct VaultChanges: Sendable {
        public var location: String?
        public var tags: [String: String]?
        public var tenantId: String?
        public var sku: String?
        public var accessPolicies: [AccessPolicy]?
        public var enabledForDeployment: Bool?
        public var enabledForDiskEncryption: Bool?
        public var enabledForTemplateDeployment: Bool?
        public var rbacAuthorization: Bool?
        public var retentionDays: Int?
        public var purgeProtection: Bool?
        public var networkRules: VaultResourceSettings.NetworkRules?
        public var publicNetworkAccess: String?
        /// `createMode: recover`: bring back the soft-deleted vault of that name.
        public var recover: Bool
        /// Refuse (`VaultAlreadyExists`) rather than update a vault that exists (the console's "new vault").
        public var createOnly: Bool

        public init(
            location: String? = nil, tags: [String: String]? = nil, tenantId: String? = nil, sku: String? = nil,
            accessPolicies: [AccessPolicy]? = nil,
            enabledForDeployment: Bool? = nil, enabledForDiskEncryption: Bool? = nil, enabledForTemplateDeployment: Bool? = nil,
            rbacAuthorization: Bool? = nil, retentionDays: Int? = nil, purgeProtection: Bool? = nil,
            networkRules: VaultResourceSettings.NetworkRules? = nil, publicNetworkAccess: String? = nil, recover: Bool = false,
            createOnly: Bool = false
        ) {
            self.location = location
            self.tags = tags
            self.tenantId = tenantId
            self.sku = sku
            self.accessPolicies = accessPolicies
            self.enabledForDeployment = enabledForDeployment
            self.enabledForDiskEncryption = enabledForDiskEncryption
            self.enabledForTemplateDeployment = enabledForTemplateDeployment
            self.rbacAuthorization = rbacAuthorization
            self.retentionDays = retentionDays
            self.purgeProtection = purgeProtection
            self.networkRules = networkRules
            self.publicNetworkAccess = publicNetworkAccess
            self.recover = recover
            self.createOnly = createOnly
        }
    }

    static let vaultType = "Microsoft.KeyVault/vaults"

    func scope(of vault: VaultName, in group: String) -> ResourceScope { .vault(resourceGroup: group, RoleScope(vault: vault)) }

    /// A vault of a group (404 `ResourceNotFound` when it is in another group or does not exist).
    public func vault(_ grants: Grants, group: String, name: String) async throws -> VaultRecord {
        let vault = try await existingVault(group: group, name: name)
        try await authorization.check(grants, ResourceAction.readVault, at: scope(of: vault.name, in: group), vault: vault)
        return vault
    }

    func existingVault(group: String, name: String) async throws -> VaultRecord {
        _ = try await existingGroup(group)
        return try member(try await findVault(name), of: group, type: Self.vaultType, name: name)
    }

    /// The live vault of that name, if the name is a vault name and such a vault exists.
    func findVault(_ name: String) async throws -> VaultRecord? {
        guard let vaultName = try? VaultName(name) else { return nil }
        return try await VaultDirectory.live(vaultName, in: storage)
    }

    /// Creates or updates a vault (`PUT`). Returns the vault and whether it is new (201) or was updated (200).
    public func createOrUpdateVault(_ grants: Grants, group: String, name: String, _ changes: VaultChanges) async throws
        -> (vault: VaultRecord, created: Bool)
    {
        let vaultName = try VaultName(name)
        try await authorization.check(grants, ResourceAction.writeVault, at: scope(of: vaultName, in: group))
        try checkTenant(changes.tenantId)
        let now = clock.now
        return try await storage.transaction { transaction in
            let resourceGroup = try await existingGroup(group, in: transaction)
            if changes.recover {
                guard try await VaultDirectory.deleted(vaultName, in: transaction) != nil else {
                    throw ResourceManagerError.softDeletedVaultDoesNotExist(name)
                }
                var vault = try await VaultDirectory.recover(vaultName, in: transaction)
                vault.resourceGroup = resourceGroup.name
                try await VaultDirectory.update(vault, in: transaction)
                return (vault, false)
            }
            if let existing = try await VaultDirectory.live(vaultName, in: transaction) {
                guard existing.isIn(resourceGroup: group), !changes.createOnly else { throw ResourceManagerError.vaultAlreadyExists(name) }
                var vault = existing
                try Self.apply(changes, to: &vault, replacingTags: true)
                try await VaultDirectory.update(vault, in: transaction)
                return (vault, false)
            }
            guard try await VaultDirectory.deleted(vaultName, in: transaction) == nil else {
                throw ResourceManagerError.deletedVaultExists(name)
            }
            let settings = VaultDirectory.Settings(
                retentionDays: changes.retentionDays ?? 90, purgeProtection: changes.purgeProtection ?? false,
                rbacAuthorization: changes.rbacAuthorization ?? false, resourceGroup: resourceGroup.name,
                resource: VaultResourceSettings(location: changes.location ?? resourceGroup.location))
            var vault = try VaultDirectory.record(vaultName, settings: settings, accessPolicies: [], created: now)
            try Self.apply(changes, to: &vault, replacingTags: true)
            try await VaultDirectory.insert(vault, in: transaction)
            return (vault, true)
        }
    }

    /// Updates the given properties of a vault (`PATCH`).
    public func updateVault(_ grants: Grants, group: String, name: String, _ changes: VaultChanges) async throws -> VaultRecord {
        try checkTenant(changes.tenantId)
        return try await modifyVault(grants, group: group, name: name, action: ResourceAction.writeVault) { vault in
            try Self.apply(changes, to: &vault, replacingTags: false)
        }
    }

    /// How `accessPolicies/{kind}` changes a vault's policies.
    public enum AccessPolicyUpdate: String, Sendable {
        /// Adds the permissions to the principal's policy (made if absent).
        case add
        /// Replaces the principal's permissions.
        case replace
        /// Removes the permissions; a policy left with none is removed.
        case remove
    }

    public func updateAccessPolicies(
        _ grants: Grants, group: String, name: String, _ kind: AccessPolicyUpdate, _ policies: [AccessPolicy]
    ) async throws -> VaultRecord {
        try await modifyVault(grants, group: group, name: name, action: ResourceAction.writeAccessPolicies) { vault in
            for policy in policies {
                let index = vault.accessPolicies.firstIndex {
                    $0.objectId.lowercased() == policy.objectId.lowercased() && $0.tenantId.lowercased() == policy.tenantId.lowercased()
                }
                switch (kind, index) {
                case (.add, let index?):
                    vault.accessPolicies[index].permissions.merge(policy.permissions) { $0.union($1) }
                case (.replace, let index?):
                    vault.accessPolicies[index].permissions = policy.permissions
                case (.remove, let index?):
                    for (area, removed) in policy.permissions { vault.accessPolicies[index].permissions[area]?.subtract(removed) }
                    if vault.accessPolicies[index].permissions.values.allSatisfy(\.isEmpty) { vault.accessPolicies.remove(at: index) }
                case (.add, nil), (.replace, nil):
                    vault.accessPolicies.append(policy)
                case (.remove, nil):
                    break
                }
            }
        }
    }

    private func modifyVault(
        _ grants: Grants, group: String, name: String, action: String, _ change: @escaping @Sendable (inout VaultRecord) throws -> Void
    ) async throws -> VaultRecord {
        let current = try await existingVault(group: group, name: name)
        try await authorization.check(grants, action, at: scope(of: current.name, in: group), vault: current)
        return try await storage.transaction { transaction in
            var vault = try member(try await VaultDirectory.live(current.name, in: transaction), of: group, type: Self.vaultType, name: name)
            try change(&vault)
            try await VaultDirectory.update(vault, in: transaction)
            return vault
        }
    }

    static func apply(_ changes: VaultChanges, to vault: inout VaultRecord, replacingTags: Bool) throws {
        if let days = changes.retentionDays, days != vault.retentionDays {
            try VaultDirectory.checkRetention(days)
            vault.retentionDays = days
        }
        if let protection = changes.purgeProtection {
            guard protection || !vault.purgeProtection else {
                throw ResourceManagerError.badRequest(
                    code: "BadRequest",
                    message: "The property \"enablePurgeProtection\" cannot be set to false. Enabling the purge protection for a vault is an "
                        + "irreversible action.")
            }
            vault.purgeProtection = protection
        }
        if let rbac = changes.rbacAuthorization { vault.rbacAuthorization = rbac }
        if let policies = changes.accessPolicies { vault.accessPolicies = policies }
        var resource = vault.resource ?? VaultResourceSettings(location: changes.location ?? ResourceManager.location)
        if let location = changes.location { resource.location = location }
        if replacingTags || changes.tags != nil { resource.tags = changes.tags }
        if let sku = changes.sku {
            guard ["standard", "premium"].contains(sku.lowercased()) else {
                throw ResourceManagerError.badRequest(code: "InvalidParameter", message: "The SKU '\(sku)' is not standard or premium.")
            }
            resource.sku = sku.lowercased()
        }
        if let value = changes.enabledForDeployment { resource.enabledForDeployment = value }
        if let value = changes.enabledForDiskEncryption { resource.enabledForDiskEncryption = value }
        if let value = changes.enabledForTemplateDeployment { resource.enabledForTemplateDeployment = value }
        if let value = changes.publicNetworkAccess { resource.publicNetworkAccess = value }
        if let rules = changes.networkRules { resource.networkRules = rules }
        vault.resource = resource
    }

    /// Roles on the resource's group or the subscription decide (resources other than vaults hold no roles of their
    /// own); a refusal names the resource.
    func checkInGroup(_ grants: Grants, _ action: String, group: String, type: String, name: String) async throws {
        guard try await authorization.allows(grants, action, at: .resourceGroup(group)) else {
            throw ResourceManagerError.authorizationFailed(
                objectId: grants.caller.objectId, action: action,
                scope: ResourceScope.resourceGroup(group).id(subscriptionId: subscriptionId) + "/providers/\(type)/\(name)")
        }
    }

    /// The resource found when it is in `group`: ARM answers 404 `ResourceNotFound` for a resource of another group as
    /// for one that does not exist.
    func member<Resource: ResourceGroupMember>(_ found: Resource?, of group: String, type: String, name: String) throws -> Resource {
        guard let found, found.isIn(resourceGroup: group) else {
            throw ResourceManagerError.resourceNotFound(type: type, name: name, resourceGroup: group)
        }
        return found
    }

    func checkTenant(_ tenant: String?) throws {
        guard let tenant, tenant.lowercased() != tenantId else { return }
        throw ResourceManagerError.badRequest(code: "InvalidTenant", message: "The tenant '\(tenant)' is not this server's tenant (\(tenantId)).")
    }

    /// Soft-deletes a vault (recoverable until purged). Returns false when there was no such vault (ARM's 204).
    public func deleteVault(_ grants: Grants, group: String, name: String) async throws -> Bool {
        _ = try await existingGroup(group)
        guard let vault = try await findVault(name), vault.isIn(resourceGroup: group) else {
            try await authorization.check(grants, ResourceAction.deleteVault, at: .resourceGroup(group))
            return false
        }
        try await authorization.check(grants, ResourceAction.deleteVault, at: scope(of: vault.name, in: group), vault: vault)
        _ = try await vaults.softDelete(vault.name)
        return true
    }

    /// The vaults of a group, or of the subscription (`group` nil), that the caller may read.
    public func listVaults(_ grants: Grants, group: String?) async throws -> [VaultRecord] {
        if let group { _ = try await existingGroup(group) }
        var visible: [VaultRecord] = []
        for vault in try await vaults.list() where group.map({ vault.isIn(resourceGroup: $0) }) ?? true {
            if try await authorization.allows(grants, ResourceAction.readVault, at: scope(of: vault.name, in: vault.group), vault: vault) {
                visible.append(vault)
            }
        }
        return visible
    }

    // MARK: - Deleted vaults

    public func deletedVaults(_ grants: Grants) async throws -> [DeletedVaultRecord] {
        try await authorization.check(grants, ResourceAction.readDeletedVaults, at: .subscription)
        return try await vaults.deletedVaults()
    }

    public func deletedVault(_ grants: Grants, location: String, name: String) async throws -> DeletedVaultRecord {
        try await authorization.check(grants, ResourceAction.readDeletedVault, at: .subscription)
        return try await existingDeletedVault(location: location, name: name)
    }

    func existingDeletedVault(location: String, name: String) async throws -> DeletedVaultRecord {
        guard let vaultName = try? VaultName(name), let deleted = try await VaultDirectory.deleted(vaultName, in: storage),
            ResourceGroups.normalized(deleted.vault.resource?.location ?? Self.location) == ResourceGroups.normalized(location)
        else { throw ResourceManagerError.deletedVaultNotFound(name) }
        return deleted
    }

    /// Purges a deleted vault and everything in it.
    public func purgeDeletedVault(_ grants: Grants, location: String, name: String) async throws {
        try await authorization.check(grants, ResourceAction.purgeDeletedVault, at: .subscription)
        let deleted = try await existingDeletedVault(location: location, name: name)
        do {
            try await vaults.purge(deleted.vault.name)
        } catch CoffreError.purgeProtected {
            throw ResourceManagerError.purgeProtected(name)
        } catch CoffreError.vaultNotFound {
            throw ResourceManagerError.deletedVaultNotFound(name)
        }
    }

    /// Why a vault name cannot be used, or nil when it can.
    public enum NameUnavailability: Sendable, Equatable {
        case invalid(String)
        case alreadyExists
    }

    public func checkNameAvailability(_ grants: Grants, name: String) async throws -> NameUnavailability? {
        try await authorization.check(grants, ResourceAction.checkName, at: .subscription)
        let vaultName: VaultName
        do {
            vaultName = try VaultName(name)
        } catch {
            return .invalid("\(error)")
        }
        let taken = try await VaultDirectory.live(vaultName, in: storage) != nil
        let deleted = try await VaultDirectory.deleted(vaultName, in: storage) != nil
        return taken || deleted ? .alreadyExists : nil
    }
}
