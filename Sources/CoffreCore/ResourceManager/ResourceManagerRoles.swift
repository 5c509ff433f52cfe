import CoffreCrypto
import CoffreModel
import CoffreStorage

/// A role assignment wherever it is: on the subscription, a resource group, a vault or one object in a vault.
public struct ScopedRoleAssignment: Sendable, Equatable {
    public var id: String
    public var roleId: String
    public var principalId: String
    public var principalType: String?
    /// With the resource group's name as written.
    public var scope: ResourceScope
    public var created: Int64

    public var role: RoleDefinition? { RoleDefinition.builtIn.first { $0.id == roleId } }
}

/// Microsoft.Authorization: role definitions, and role assignments at the subscription, resource group, vault and
/// object scopes. Assignments on vaults and objects are the very ones the data plane of RBAC vaults reads.
extension ResourceManager {
    /// The built-in roles, or the one called `name` (`$filter=roleName eq '…'`).
    public func roleDefinitions(_ grants: Grants, at scope: ResourceScope, named name: String?) async throws -> [RoleDefinition] {
        let (scope, vault) = try await resolve(scope)
        try await authorization.check(grants, ResourceAction.readRoleDefinitions, at: scope, vault: vault)
        return RoleDefinition.builtIn.filter { role in name.map { role.name.lowercased() == $0.lowercased() } ?? true }
    }

    public func roleDefinition(_ grants: Grants, at scope: ResourceScope, id: String) async throws -> RoleDefinition {
        let (scope, vault) = try await resolve(scope)
        try await authorization.check(grants, ResourceAction.readRoleDefinitions, at: scope, vault: vault)
        return try Self.role(id)
    }

    /// A built-in role by its id or resource id (`…/roleDefinitions/{id}`), as Microsoft.Authorization names roles.
    static func role(_ reference: String) throws -> RoleDefinition {
        let wanted = reference.lowercased()
        guard let role = RoleDefinition.builtIn.first(where: { wanted == $0.id || wanted.hasSuffix("/roledefinitions/" + $0.id) }) else {
            throw ResourceManagerError.roleDefinitionNotFound(reference)
        }
        return role
    }

    /// Assigns a role at a scope under the name (a GUID) the client chose. Returns the assignment and whether it is new;
    /// the same name with the same role and principal is the same assignment.
    public func assignRole(
        _ grants: Grants, id: String, at scope: ResourceScope, roleDefinitionId: String, principalId: String, principalType: String?
    ) async throws -> (assignment: ScopedRoleAssignment, created: Bool) {
        guard Self.isGUID(id), Self.isGUID(principalId) else {
            throw ResourceManagerError.badRequest(
                code: "InvalidRoleAssignmentId", message: "The role assignment name and the principal id must be GUIDs.")
        }
        let (resolved, vault) = try await resolve(scope)
        try await authorization.check(grants, ResourceAction.writeRoleAssignments, at: resolved, vault: vault)
        return try await assign(id: id, at: resolved, role: try Self.role(roleDefinitionId), principalId: principalId, principalType: principalType)
    }

    /// Assigns a role without checking the caller (the server's own administration, whose caller is an administrator).
    /// - Parameter id: the assignment's name; a new GUID when nil.
    public func assign(id: String?, at scope: ResourceScope, role: RoleDefinition, principalId: String, principalType: String?) async throws
        -> (assignment: ScopedRoleAssignment, created: Bool)
    {
        let id = id ?? SecureRandom.uuid()
        let (scope, _) = try await resolve(scope)
        if let existing = try await assignments(at: scope).first(where: { $0.id == id.lowercased() }) {
            guard existing.roleId == role.id, existing.principalId == principalId.lowercased() else {
                throw ResourceManagerError.roleAssignmentExists(id)
            }
            return (existing, false)
        }
        do {
            switch scope {
            case .vault(let group, let target):
                let created = try await roleAssignments.create(
                    id: id, role: role, principalId: principalId, principalType: principalType, scope: target)
                return (Self.scoped(created, group: group), true)
            case .subscription, .resourceGroup:
                let created = try await storage.transaction { transaction in
                    if let group = scope.resourceGroup { _ = try await existingGroup(group, in: transaction) }
                    return try await roleAssignments.createOnContainer(
                        id: id, role: role, principalId: principalId, principalType: principalType, resourceGroup: scope.resourceGroup,
                        in: transaction)
                }
                return (Self.scoped(created), true)
            }
        } catch CoffreError.conflict {
            throw ResourceManagerError.roleAssignmentExists(id)
        }
    }

    public func roleAssignment(_ grants: Grants, id: String, at scope: ResourceScope) async throws -> ScopedRoleAssignment {
        let (scope, vault) = try await resolve(scope)
        try await authorization.check(grants, ResourceAction.readRoleAssignments, at: scope, vault: vault)
        guard let assignment = try await assignments(at: scope).first(where: { $0.id == id.lowercased() }) else {
            throw ResourceManagerError.roleAssignmentNotFound(id)
        }
        return assignment
    }

    /// Removes an assignment; nil when there was none of that name at that scope (ARM's 204).
    public func deleteRoleAssignment(_ grants: Grants, id: String, at scope: ResourceScope) async throws -> ScopedRoleAssignment? {
        let (scope, vault) = try await resolve(scope)
        try await authorization.check(grants, ResourceAction.deleteRoleAssignments, at: scope, vault: vault)
        guard let assignment = try await assignments(at: scope).first(where: { $0.id == id.lowercased() }) else { return nil }
        switch scope {
        case .vault(_, let target): _ = try await roleAssignments.delete(id: assignment.id, in: target.vault)
        case .subscription, .resourceGroup: _ = try await roleAssignments.deleteOnContainer(id: assignment.id, resourceGroup: scope.resourceGroup)
        }
        return assignment
    }

    /// Which assignments a list answers (its `$filter`).
    public struct AssignmentFilter: Sendable, Equatable {
        /// `atScope()`: only those at the scope or above it (otherwise those below it too).
        public var atScope: Bool
        /// `principalId eq '…'` or `assignedTo('…')`: only this principal's.
        public var principalId: String?

        public init(atScope: Bool = false, principalId: String? = nil) {
            self.atScope = atScope
            self.principalId = principalId
        }
    }

    public func roleAssignments(_ grants: Grants, at scope: ResourceScope, filter: AssignmentFilter) async throws -> [ScopedRoleAssignment] {
        let (scope, vault) = try await resolve(scope)
        try await authorization.check(grants, ResourceAction.readRoleAssignments, at: scope, vault: vault)
        return try await allAssignments().filter { assignment in
            guard filter.principalId.map({ assignment.principalId == $0.lowercased() }) ?? true else { return false }
            return Self.contains(assignment.scope, scope) || (!filter.atScope && Self.contains(scope, assignment.scope))
        }
    }

    // MARK: - Scopes

    /// The scope with its resource group's name as written, checked to exist, and the vault it names.
    func resolve(_ scope: ResourceScope) async throws -> (ResourceScope, VaultRecord?) {
        switch scope {
        case .subscription: return (scope, nil)
        case .resourceGroup(let name): return (.resourceGroup(try await existingGroup(name).name), nil)
        case .vault(let group, let target):
            let vault: VaultRecord
            if let group {
                vault = try await existingVault(group: group, name: target.vault.value)
            } else {
                guard let found = try await findVault(target.vault.value) else { throw CoffreError.vaultNotFound(target.vault.value) }
                vault = found
            }
            let groupName = try await existingGroup(vault.group).name
            return (.vault(resourceGroup: groupName, target), vault)
        }
    }

    /// The assignments made exactly at `scope` (a resolved one).
    func assignments(at scope: ResourceScope) async throws -> [ScopedRoleAssignment] {
        switch scope {
        case .vault(let group, let target):
            return try await roleAssignments.list(in: target.vault).filter { $0.scope == target }.map { Self.scoped($0, group: group) }
        case .subscription, .resourceGroup:
            return try await roleAssignments.onContainers().filter {
                $0.resourceGroup?.lowercased() == scope.resourceGroup?.lowercased()
            }.map { Self.scoped($0) }
        }
    }

    /// Every assignment of the subscription; those of deleted vaults are left out.
    func allAssignments() async throws -> [ScopedRoleAssignment] {
        let groupsByVault = Dictionary(uniqueKeysWithValues: try await vaults.list().map { ($0.name, $0.group) })
        let onVaults = try await roleAssignments.listAll().compactMap { assignment in
            groupsByVault[assignment.scope.vault].map { Self.scoped(assignment, group: $0) }
        }
        return try await roleAssignments.onContainers().map { Self.scoped($0) } + onVaults
    }

    /// Whether `outer` is `inner` or above it.
    static func contains(_ outer: ResourceScope, _ inner: ResourceScope) -> Bool {
        switch (outer, inner) {
        case (.subscription, _): true
        case (.resourceGroup(let group), _): inner.resourceGroup?.lowercased() == group.lowercased()
        case (.vault(_, let outerTarget), .vault(_, let innerTarget)):
            outerTarget.vault == innerTarget.vault && (outerTarget.object == nil || outerTarget.object == innerTarget.object)
        case (.vault, _): false
        }
    }

    static func scoped(_ assignment: RoleAssignment, group: String?) -> ScopedRoleAssignment {
        ScopedRoleAssignment(
            id: assignment.id, roleId: assignment.roleId, principalId: assignment.principalId, principalType: assignment.principalType,
            scope: .vault(resourceGroup: group, assignment.scope), created: assignment.created)
    }

    static func scoped(_ assignment: ContainerRoleAssignment) -> ScopedRoleAssignment {
        ScopedRoleAssignment(
            id: assignment.id, roleId: assignment.roleId, principalId: assignment.principalId, principalType: assignment.principalType,
            scope: assignment.resourceGroup.map { .resourceGroup($0) } ?? .subscription, created: assignment.created)
    }

    public static func isGUID(_ text: String) -> Bool {
        let parts = text.split(separator: "-", omittingEmptySubsequences: false)
        return parts.map(\.count) == [8, 4, 4, 4, 12] && parts.allSatisfy { $0.allSatisfy(\.isHexDigit) }
    }
}
