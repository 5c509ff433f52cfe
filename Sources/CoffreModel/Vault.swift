/// A vault's settings and access policies (stored under `sys/vaults/{name}`).
public struct VaultRecord: Codable, Sendable, Equatable {
    public var name: VaultName
    public var created: Int64
    /// Days a deleted object stays recoverable (7–90).
    public var retentionDays: Int
    /// When on, deleted objects cannot be purged before their scheduled date.
    public var purgeProtection: Bool
    /// When on, access is decided by role assignments instead of access policies.
    public var rbacAuthorization: Bool
    public var accessPolicies: [AccessPolicy]

    public init(
        name: VaultName, created: Int64, retentionDays: Int = 90, purgeProtection: Bool = false,
        rbacAuthorization: Bool = false, accessPolicies: [AccessPolicy] = []
    ) {
        self.name = name
        self.created = created
        self.retentionDays = retentionDays
        self.purgeProtection = purgeProtection
        self.rbacAuthorization = rbacAuthorization
        self.accessPolicies = accessPolicies
    }

    public static let retentionRange = 7...90

    public var recoveryLevel: RecoveryLevel {
        RecoveryLevel(retentionDays: retentionDays, purgeProtection: purgeProtection)
    }
}

/// The kinds of objects an access policy grants permissions on.
public enum PermissionArea: String, Sendable, Codable, CodingKeyRepresentable, CaseIterable {
    case keys, secrets, certificates, storage

    /// Every permission Key Vault defines for the area, as `az keyvault set-policy` spells them.
    public var allPermissions: [String] {
        switch self {
        case .keys:
            [
                "get", "list", "update", "create", "import", "delete", "recover", "backup", "restore", "decrypt", "encrypt",
                "unwrapkey", "wrapkey", "verify", "sign", "purge", "release", "rotate", "getrotationpolicy",
                "setrotationpolicy",
            ]
        case .secrets: ["get", "list", "set", "delete", "recover", "backup", "restore", "purge"]
        case .certificates:
            [
                "get", "list", "update", "create", "import", "delete", "recover", "backup", "restore", "managecontacts",
                "manageissuers", "getissuers", "listissuers", "setissuers", "deleteissuers", "purge",
            ]
        case .storage:
            [
                "get", "list", "delete", "set", "update", "regeneratekey", "recover", "purge", "backup", "restore",
                "setsas", "listsas", "getsas", "deletesas",
            ]
        }
    }
}

/// One principal's permissions on a vault (the access-policy model).
public struct AccessPolicy: Codable, Sendable, Equatable {
    public var tenantId: String
    public var objectId: String
    /// Permissions per area, lower-case (`"get"`, `"unwrapkey"`).
    public var permissions: [PermissionArea: Set<String>]

    public init(tenantId: String, objectId: String, permissions: [PermissionArea: Set<String>]) {
        self.tenantId = tenantId
        self.objectId = objectId
        self.permissions = permissions
    }

    /// A policy granting every permission in every area.
    public static func all(tenantId: String, objectId: String) -> AccessPolicy {
        AccessPolicy(
            tenantId: tenantId, objectId: objectId,
            permissions: Dictionary(uniqueKeysWithValues: PermissionArea.allCases.map { ($0, Set($0.allPermissions)) }))
    }

    /// Normalises permission names as a client wrote them (`"UnwrapKey"`, `"all"`) and rejects unknown ones.
    public static func permissions(_ names: [String], in area: PermissionArea) throws -> Set<String> {
        var result = Set<String>()
        for name in names.map({ $0.lowercased() }) {
            if name == "all" {
                result.formUnion(area.allPermissions)
            } else if area.allPermissions.contains(name) {
                result.insert(name)
            } else {
                throw CoffreError.badParameter("'\(name)' is not a valid \(area.rawValue) permission.")
            }
        }
        return result
    }

    public func allows(_ permission: String, in area: PermissionArea) -> Bool {
        permissions[area]?.contains(permission) ?? false
    }
}
