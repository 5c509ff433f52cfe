import CoffreAuth
import CoffreDirectory
import CoffreModel

/// The Azure Resource Manager actions Coffre's management operations need (what role definitions' `actions` grant).
public enum ResourceAction {
    public static let readSubscription = "Microsoft.Resources/subscriptions/read"
    public static let readResources = "Microsoft.Resources/subscriptions/resources/read"
    public static let readGroup = "Microsoft.Resources/subscriptions/resourceGroups/read"
    public static let writeGroup = "Microsoft.Resources/subscriptions/resourceGroups/write"
    public static let deleteGroup = "Microsoft.Resources/subscriptions/resourceGroups/delete"
    public static let readVault = "Microsoft.KeyVault/vaults/read"
    public static let writeVault = "Microsoft.KeyVault/vaults/write"
    public static let deleteVault = "Microsoft.KeyVault/vaults/delete"
    public static let writeAccessPolicies = "Microsoft.KeyVault/vaults/accessPolicies/write"
    public static let readDeletedVaults = "Microsoft.KeyVault/deletedVaults/read"
    public static let readDeletedVault = "Microsoft.KeyVault/locations/deletedVaults/read"
    public static let purgeDeletedVault = "Microsoft.KeyVault/locations/deletedVaults/purge/action"
    public static let checkName = "Microsoft.KeyVault/checkNameAvailability/read"
    public static let readStorageAccount = "Microsoft.Storage/storageAccounts/read"
    public static let writeStorageAccount = "Microsoft.Storage/storageAccounts/write"
    public static let deleteStorageAccount = "Microsoft.Storage/storageAccounts/delete"
    public static let listStorageAccountKeys = "Microsoft.Storage/storageAccounts/listkeys/action"
    public static let regenerateStorageAccountKey = "Microsoft.Storage/storageAccounts/regeneratekey/action"
    public static let checkStorageAccountName = "Microsoft.Storage/checknameavailability/read"
    public static let readManagedHSM = "Microsoft.KeyVault/managedHSMs/read"
    public static let writeManagedHSM = "Microsoft.KeyVault/managedHSMs/write"
    public static let deleteManagedHSM = "Microsoft.KeyVault/managedHSMs/delete"
    public static let readRoleDefinitions = "Microsoft.Authorization/roleDefinitions/read"
    public static let readRoleAssignments = "Microsoft.Authorization/roleAssignments/read"
    public static let writeRoleAssignments = "Microsoft.Authorization/roleAssignments/write"
    public static let deleteRoleAssignments = "Microsoft.Authorization/roleAssignments/delete"
}

/// Decides Azure Resource Manager calls by Microsoft.Authorization: the roles a caller holds at a scope are those
/// assigned there or above (resource group, subscription) to it or to one of its groups; Coffre's administrators hold
/// Owner on the subscription. Assignments and memberships are read per request, so a change applies to the next one.
public struct ResourceAuthorization: Sendable {
    let principals: PrincipalDirectory
    let groups: GroupExpansion
    let roleAssignments: RoleAssignments
    let subscriptionId: String

    public init(principals: PrincipalDirectory, groups: GroupExpansion, roleAssignments: RoleAssignments, subscriptionId: String) {
        self.principals = principals
        self.groups = groups
        self.roleAssignments = roleAssignments
        self.subscriptionId = subscriptionId
    }

    /// What the caller holds: roles on containers (read once per request) and whether it administers the server.
    public struct Grants: Sendable {
        let administrator: Bool
        let containers: [ContainerRoleAssignment]
        let caller: Caller
        /// The caller's object id and its groups' (whose grants apply to it).
        let principalIds: [String]
    }

    public func grants(of caller: Caller) async throws -> Grants {
        if await principals.isAdministrator(caller) {
            return Grants(administrator: true, containers: [], caller: caller, principalIds: [caller.objectId])
        }
        let principalIds = [caller.objectId] + (try await groups.groupIds(of: caller))
        var containers: [ContainerRoleAssignment] = []
        for principal in principalIds { containers += try await roleAssignments.onContainers(of: principal) }
        return Grants(administrator: false, containers: containers, caller: caller, principalIds: principalIds)
    }

    /// Whether `action` is allowed at `scope`; `vault` is the vault a vault scope names (its group decides which group
    /// roles apply).
    public func allows(_ grants: Grants, _ action: String, at scope: ResourceScope, vault: VaultRecord? = nil) async throws -> Bool {
        if grants.administrator { return RoleDefinition.owner.grantsAction(action) }
        let group = vault?.group ?? scope.resourceGroup
        var roles = grants.containers.filter { assignment in group.map { assignment.covers(resourceGroup: $0) } ?? (assignment.resourceGroup == nil) }
            .compactMap(\.role)
        if case .vault(_, let target) = scope {
            for principal in grants.principalIds {
                roles += try await roleAssignments.forPrincipal(principal, in: target.vault).filter {
                    $0.scope.object == nil || $0.scope == target
                }.compactMap(\.role)
            }
        }
        return roles.contains { $0.grantsAction(action) }
    }

    /// Throws 403 `AuthorizationFailed` unless `action` is allowed at `scope`.
    public func check(_ grants: Grants, _ action: String, at scope: ResourceScope, vault: VaultRecord? = nil) async throws {
        guard try await allows(grants, action, at: scope, vault: vault) else {
            var named = scope
            if case .vault(nil, let target) = scope { named = .vault(resourceGroup: vault?.group, target) }
            throw ResourceManagerError.authorizationFailed(
                objectId: grants.caller.objectId, action: action, scope: named.id(subscriptionId: subscriptionId))
        }
    }

    /// Whether the caller holds any role in the subscription (which is then listed to it).
    public func hasAnyRole(_ grants: Grants) async throws -> Bool {
        if grants.administrator || !grants.containers.isEmpty { return true }
        let principals = Set(grants.principalIds)
        return try await roleAssignments.listAll().contains { principals.contains($0.principalId) }
    }
}
