import CoffreCore
import CoffreModel
import Testing

/// The caller of the authorisation tests, and the one principal their policies and role assignments name.
let testCaller = Caller(objectId: "oid", appId: "app", tenantId: "tid", issuer: "iss")

/// For each permission of `area`, a policy granting only it allows exactly the `operations` that need it (and none of
/// `refused`, operations of other areas).
func expectEachPermissionAllowsExactlyItsOperations(
    _ area: PermissionArea, operations: [VaultOperation], refused: [VaultOperation] = []
) throws {
    for permission in area.allPermissions {
        let vault = VaultRecord(
            name: try VaultName("vault"), created: 0,
            accessPolicies: [AccessPolicy(tenantId: "tid", objectId: "oid", permissions: [area: [permission]])])
        for operation in operations {
            let allowed = (try? Authorizer().authorize(testCaller, operation, in: vault)) != nil
            #expect(allowed == (operation.permission == permission), "\(permission) vs \(operation)")
        }
        for operation in refused {
            #expect((try? Authorizer().authorize(testCaller, operation, in: vault)) == nil)
        }
    }
}

/// Whether the caller, holding only the built-in `role` on an RBAC vault, may run `operation`.
func roleAllows(_ role: String, _ operation: VaultOperation) throws -> Bool {
    let vault = VaultRecord(name: try VaultName("vault"), created: 0, rbacAuthorization: true)
    let assignment = RoleAssignment(
        id: "a", roleId: try RoleDefinition.named(role).id, principalId: "oid", scope: RoleScope(vault: vault.name), created: 0)
    return (try? Authorizer().authorize(testCaller, operation, in: vault, assignments: [assignment])) != nil
}
