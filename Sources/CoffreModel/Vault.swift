/// A vault's settings and access policies (stored under `sys/vaults/{name}`).
public struct VaultRecord: Codable, Sendable, Equatable, ResourceGroupMember {
    public var name: VaultName
    public var created: Int64
    /// Days a deleted object stays recoverable (7–90).
    public var retentionDays: Int
    /// When on, deleted objects cannot be purged before their scheduled date.
    public var purgeProtection: Bool
    /// When on, access is decided by role assignments instead of access policies.
    public var rbacAuthorization: Bool
    public var accessPolicies: [AccessPolicy]
    /// The Azure resource group the vault belongs to, as its name was first written; `nil` for the default group
    /// (``VaultRecord/defaultResourceGroup``), which holds the vaults made by Coffre's own commands.
    public var resourceGroup: String?
    /// What Azure Resource Manager clients set and read back (location, tags, SKU, network rules), when one did.
    public var resource: VaultResourceSettings?

    public init(
        name: VaultName, created: Int64, retentionDays: Int = 90, purgeProtection: Bool = false,
        rbacAuthorization: Bool = false, accessPolicies: [AccessPolicy] = [], resourceGroup: String? = nil,
        resource: VaultResourceSettings? = nil
    ) {
        self.name = name
        self.created = created
        self.retentionDays = retentionDays
        self.purgeProtection = purgeProtection
        self.rbacAuthorization = rbacAuthorization
        self.accessPolicies = accessPolicies
        self.resourceGroup = resourceGroup
        self.resource = resource
    }

    /// The resource group of vaults made by `coffre vault create` (and of vaults stored before groups existed).
    public static let defaultResourceGroup = "default"

    /// The name of the vault's resource group.
    public var group: String { resourceGroup ?? Self.defaultResourceGroup }

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

/// A vault's Azure Resource Manager settings that Coffre keeps and echoes but does not act on (there is one location,
/// no network perimeter and one key protection level); `az keyvault show` and the management SDKs read them back.
public struct VaultResourceSettings: Codable, Sendable, Equatable {
    public var location: String
    public var tags: [String: String]?
    /// `standard` or `premium`.
    public var sku: String
    public var enabledForDeployment: Bool?
    public var enabledForDiskEncryption: Bool?
    public var enabledForTemplateDeployment: Bool?
    /// `Enabled` or `Disabled`.
    public var publicNetworkAccess: String?
    public var networkRules: NetworkRules?

    public init(
        location: String, tags: [String: String]? = nil, sku: String = "standard", enabledForDeployment: Bool? = nil,
        enabledForDiskEncryption: Bool? = nil, enabledForTemplateDeployment: Bool? = nil, publicNetworkAccess: String? = nil,
        networkRules: NetworkRules? = nil
    ) {
        self.location = location
        self.tags = tags
        self.sku = sku
        self.enabledForDeployment = enabledForDeployment
        self.enabledForDiskEncryption = enabledForDiskEncryption
        self.enabledForTemplateDeployment = enabledForTemplateDeployment
        self.publicNetworkAccess = publicNetworkAccess
        self.networkRules = networkRules
    }

    /// A vault's network rule set (`networkAcls`), as written.
    public struct NetworkRules: Codable, Sendable, Equatable {
        /// `AzureServices` or `None`.
        public var bypass: String?
        /// `Allow` or `Deny`.
        public var defaultAction: String?
        public var ipRules: [String]
        public var virtualNetworkRules: [String]

        public init(bypass: String?, defaultAction: String?, ipRules: [String], virtualNetworkRules: [String]) {
            self.bypass = bypass
            self.defaultAction = defaultAction
            self.ipRules = ipRules
            self.virtualNetworkRules = virtualNetworkRules
        }
    }
}

/// A soft-deleted vault (`sys/deleted-vaults/{name}`): its record and objects are kept until the purge date, when
/// it is purged (or earlier, on request, without purge protection); meanwhile its name cannot be reused.
public struct DeletedVaultRecord: Codable, Sendable, Equatable {
    public var vault: VaultRecord
    public var deletedDate: Int64
    public var scheduledPurgeDate: Int64

    public init(vault: VaultRecord, deletedDate: Int64, scheduledPurgeDate: Int64) {
        self.vault = vault
        self.deletedDate = deletedDate
        self.scheduledPurgeDate = scheduledPurgeDate
    }
}
