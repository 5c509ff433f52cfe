import CoffreModel

/// Decides whether a caller may run an operation on a vault: by the vault's access policies, or, for vaults with
/// RBAC authorisation, by the caller's role assignments at the vault's or the object's scope.
public struct Authorizer: Sendable {
    public init() {}

    /// `object` is the object the operation addresses (nil for lists and restores); `assignments` are the caller's
    /// role assignments in the vault (read only for RBAC vaults).
    public func authorize(
        _ caller: Caller, _ operation: VaultOperation, in vault: VaultRecord, object: RoleScope.ObjectScope? = nil,
        assignments: [RoleAssignment] = []
    ) throws {
        if vault.rbacAuthorization {
            try authorizeByRoles(caller, operation, in: vault, object: object, assignments: assignments)
        } else {
            try authorizeByPolicy(caller, operation, in: vault)
        }
    }

    func authorizeByPolicy(_ caller: Caller, _ operation: VaultOperation, in vault: VaultRecord) throws {
        let allowed = vault.accessPolicies.contains {
            $0.objectId == caller.objectId && $0.tenantId == caller.tenantId && $0.allows(operation.permission, in: operation.area)
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
        _ caller: Caller, _ operation: VaultOperation, in vault: VaultRecord, object: RoleScope.ObjectScope?, assignments: [RoleAssignment]
    ) throws {
        let granted = assignments.contains { assignment in
            assignment.principalId == caller.objectId && assignment.scope.covers(vault: vault.name, object: object)
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

/// Admits callers to the operations of a vault: by its access policies or, for RBAC vaults, by the caller's role
/// assignments (read per request, so a change applies to the next one).
public struct VaultAccess: Sendable {
    let roleAssignments: RoleAssignments
    let authorizer: Authorizer

    public init(roleAssignments: RoleAssignments, authorizer: Authorizer = Authorizer()) {
        self.roleAssignments = roleAssignments
        self.authorizer = authorizer
    }

    /// Throws 403 `Forbidden` unless `caller` may run `operation` in `vault`.
    /// - Parameter objectName: the object the request names, if any (RBAC assignments may be scoped to it).
    public func authorize(_ caller: Caller, _ operation: VaultOperation, in vault: VaultRecord, objectName: String?) async throws {
        let assignments = vault.rbacAuthorization ? try await roleAssignments.forPrincipal(caller.objectId, in: vault.name) : []
        try authorizer.authorize(
            caller, operation, in: vault, object: objectName.flatMap(operation.objectScope(named:)), assignments: assignments)
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
