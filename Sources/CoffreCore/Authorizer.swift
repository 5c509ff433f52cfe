import CoffreDirectory
import CoffreModel

/// Decides whether a caller may run an operation on a vault: by the vault's access policies, or, for vaults with
/// RBAC authorisation, by the caller's role assignments at the vault's or the object's scope.
public struct Authorizer: Sendable {
    public init() {}

    /// `object` is the object the operation addresses (nil for lists and restores); `assignments` are the role
    /// assignments in the vault of the caller and of `groups` (read only for RBAC vaults); `groups` are the object ids
    /// of the caller's groups, whose grants apply to it.
    public func authorize(
        _ caller: Caller, _ operation: VaultOperation, in vault: VaultRecord, object: RoleScope.ObjectScope? = nil,
        assignments: [RoleAssignment] = [], groups: [String] = []
    ) throws {
        let principals = Set([caller.objectId] + groups)
        if vault.rbacAuthorization {
            try authorizeByRoles(caller, principals, operation, in: vault, object: object, assignments: assignments)
        } else {
            try authorizeByPolicy(caller, principals, operation, in: vault)
        }
    }

    func authorizeByPolicy(_ caller: Caller, _ principals: Set<String>, _ operation: VaultOperation, in vault: VaultRecord) throws {
        let allowed = vault.accessPolicies.contains {
            principals.contains($0.objectId) && $0.tenantId == caller.tenantId && $0.allows(operation.permission, in: operation.area)
        }
        guard allowed else {
            throw CoffreError.forbidden(
                .accessPolicy,
                message: "The user, group or application '\(caller.summary)' does not have \(operation.area.rawValue) "
                    + "\(operation.permission) permission on key vault '\(vault.name);location=local'. For help resolving "
                    + "this issue, please see https://go.microsoft.com/fwlink/?linkid=2125287")
        }
    }

    func authorizeByRoles(
        _ caller: Caller, _ principals: Set<String>, _ operation: VaultOperation, in vault: VaultRecord, object: RoleScope.ObjectScope?,
        assignments: [RoleAssignment]
    ) throws {
        let granted = assignments.contains { assignment in
            principals.contains(assignment.principalId) && assignment.scope.covers(vault: vault.name, object: object)
                && (assignment.role?.grants(operation.dataAction) ?? false)
        }
        guard granted else {
            let resource = "/vaults/\(vault.name)" + (object.map { "/\($0.kind.collection)/\($0.name)" } ?? "")
            throw CoffreError.forbidden(
                .roleAssignments,
                message: [
                    "Caller is not authorized to perform action on resource.",
                    "If role assignments were recently changed, please wait several minutes for role assignments to become effective.",
                    "Caller: \(caller.summary)", "Action: '\(operation.dataAction)'", "Resource: '\(resource)'",
                    "Assignment: (not found)", "DecisionReason: 'DeniedWithNoValidRBAC'", "Vault: \(vault.name);location=local",
                ].joined(separator: "\r\n"))
        }
    }
}

/// Admits callers to the operations of a vault: by its access policies or, for RBAC vaults, by role assignments on the
/// vault, its objects, its resource group and the subscription (read per request, so a change applies to the next
/// one). Grants to the caller's groups apply to it; they are looked up only when the caller's own grants are not enough.
public struct VaultAccess: Sendable {
    let roleAssignments: RoleAssignments
    let authorizer: Authorizer
    let groups: GroupExpansion

    public init(roleAssignments: RoleAssignments, groups: GroupExpansion, authorizer: Authorizer = Authorizer()) {
        self.roleAssignments = roleAssignments
        self.groups = groups
        self.authorizer = authorizer
    }

    /// Throws 403 `Forbidden` unless `caller` (or one of its groups) may run `operation` in `vault`.
    /// - Parameter objectName: the object the request names, if any (RBAC assignments may be scoped to it).
    public func authorize(_ caller: Caller, _ operation: VaultOperation, in vault: VaultRecord, objectName: String?) async throws {
        let object = objectName.flatMap(operation.objectScope(named:))
        let own = try await assignments(of: [caller.objectId], in: vault)
        do {
            try authorizer.authorize(caller, operation, in: vault, object: object, assignments: own)
        } catch CoffreError.forbidden(let reason, let message) {
            let groupIds = try await groups.groupIds(of: caller)
            guard !groupIds.isEmpty else { throw CoffreError.forbidden(reason, message: message) }
            try authorizer.authorize(
                caller, operation, in: vault, object: object, assignments: own + (try await assignments(of: groupIds, in: vault)), groups: groupIds)
        }
    }

    private func assignments(of principals: [String], in vault: VaultRecord) async throws -> [RoleAssignment] {
        guard vault.rbacAuthorization else { return [] }
        var found: [RoleAssignment] = []
        for principal in principals { found += try await roleAssignments.effective(for: principal, in: vault) }
        return found
    }
}

extension VaultOperation {
    /// The object a request for this operation names, as role assignments scope it; nil for a name that is not one, and
    /// for storage operations (role assignments scope vaults, secrets, keys and certificates).
    public func objectScope(named name: String) -> RoleScope.ObjectScope? {
        guard let kind = area.objectKind else { return nil }
        return (try? ObjectName(name, kind: kind)).map { RoleScope.ObjectScope(kind: kind, name: $0.key) }
    }
}

extension PermissionArea {
    /// The object kind the area's operations address (none for storage: managed storage accounts are not versioned objects).
    public var objectKind: ObjectKind? {
        switch self {
        case .keys: .key
        case .secrets: .secret
        case .certificates: .certificate
        case .storage: nil
        }
    }
}

extension Caller {
    /// `appid=…;oid=…;iss=…`, as Key Vault names callers in refusals.
    var summary: String { "appid=\(appId ?? "");oid=\(objectId);iss=\(issuer)" }
}
