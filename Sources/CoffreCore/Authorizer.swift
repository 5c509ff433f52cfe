import CoffreModel

/// Decides whether a caller may run an operation on a vault.
public struct Authorizer: Sendable {
    public init() {}

    public func authorize(_ caller: Caller, _ operation: VaultOperation, in vault: VaultRecord) throws {
        let allowed = vault.accessPolicies.contains {
            $0.objectId == caller.objectId && $0.tenantId == caller.tenantId && $0.allows(operation.permission, in: operation.area)
        }
        guard allowed else {
            throw CoffreError.forbidden(
                innerCode: "ForbiddenByPolicy",
                message: "The user, group or application 'appid=\(caller.appId ?? "");oid=\(caller.objectId);iss=\(caller.issuer)' "
                    + "does not have \(operation.area.rawValue) \(operation.permission) permission on key vault "
                    + "'\(vault.name);location=local'. For help resolving this issue, please see "
                    + "https://go.microsoft.com/fwlink/?linkid=2125287")
        }
    }
}
