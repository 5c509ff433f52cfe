import CoffreCore
import CoffreModel

/// Azure Resource Manager's JSON shapes, as `azure-mgmt-resource`, `azure-mgmt-keyvault` and
/// `azure-mgmt-authorization` read and write them.
enum ARM {
    /// `{"value": [...]}`.
    struct List<Item: Encodable>: Encodable {
        var value: [Item]
    }

    struct Subscription: Encodable {
        var id: String
        var subscriptionId: String
        var tenantId: String
        var displayName: String
        var state = "Enabled"
        var authorizationSource = "RoleBased"
        var managedByTenants: [String] = []
        var subscriptionPolicies = Policies()

        struct Policies: Encodable {
            var locationPlacementId = "Public_2014-09-01"
            var quotaId = "Coffre"
            var spendingLimit = "Off"
        }
    }

    struct Tenant: Encodable {
        var id: String
        var tenantId: String
        var displayName: String
        var defaultDomain: String
        var domains: [String]
        var tenantCategory = "Home"
        var tenantType = "AAD"
        var countryCode = ""
    }

    struct ProvisioningState: Encodable {
        var provisioningState = "Succeeded"
    }

    struct ResourceGroup: Encodable {
        var id: String
        var name: String
        var type = "Microsoft.Resources/resourceGroups"
        var location: String
        var tags: [String: String]?
        var properties = ProvisioningState()
    }

    struct ResourceGroupBody: Decodable {
        var location: String?
        var tags: [String: String]?
    }

    /// An item of `GET …/resources`.
    struct GenericResource: Encodable {
        var id: String
        var name: String
        var type: String
        var location: String
        var tags: [String: String]?
    }

    // MARK: - Microsoft.KeyVault/vaults

    struct Sku: Codable {
        var family: String?
        var name: String
    }

    struct Permissions: Codable {
        var keys: [String]?
        var secrets: [String]?
        var certificates: [String]?
        var storage: [String]?
    }

    struct AccessPolicyEntry: Codable {
        var tenantId: String
        var objectId: String
        var applicationId: String?
        var permissions: Permissions
    }

    struct IPRule: Codable {
        var value: String
    }

    struct VirtualNetworkRule: Codable {
        var id: String
        var ignoreMissingVnetServiceEndpoint: Bool?
    }

    struct NetworkRuleSet: Codable {
        var bypass: String?
        var defaultAction: String?
        var ipRules: [IPRule]?
        var virtualNetworkRules: [VirtualNetworkRule]?
    }

    /// What a `PUT` or `PATCH` of a vault sends (read-only fields a client echoes back are ignored).
    struct VaultBody: Decodable {
        var location: String?
        var tags: [String: String]?
        var properties: Properties?

        struct Properties: Decodable {
            var tenantId: String?
            var sku: Sku?
            var accessPolicies: [AccessPolicyEntry]?
            var enabledForDeployment: Bool?
            var enabledForDiskEncryption: Bool?
            var enabledForTemplateDeployment: Bool?
            var enableSoftDelete: Bool?
            var softDeleteRetentionInDays: Int?
            var enableRbacAuthorization: Bool?
            var createMode: String?
            var enablePurgeProtection: Bool?
            var networkAcls: NetworkRuleSet?
            var publicNetworkAccess: String?
        }
    }

    struct Vault: Encodable {
        var id: String
        var name: String
        var type = "Microsoft.KeyVault/vaults"
        var location: String
        var tags: [String: String]?
        var properties: Properties

        struct Properties: Encodable {
            var sku: Sku
            var tenantId: String
            var accessPolicies: [AccessPolicyEntry]
            var enabledForDeployment: Bool
            var enabledForDiskEncryption: Bool
            var enabledForTemplateDeployment: Bool
            var enableSoftDelete = true
            var softDeleteRetentionInDays: Int
            var enableRbacAuthorization: Bool
            var enablePurgeProtection: Bool
            var networkAcls: NetworkRuleSet?
            var vaultUri: String
            var provisioningState = "Succeeded"
            var publicNetworkAccess: String
        }
    }

    struct AccessPolicies: Codable {
        var accessPolicies: [AccessPolicyEntry]
    }

    struct AccessPolicyUpdateBody: Decodable {
        var properties: AccessPolicies
    }

    struct AccessPolicyUpdate: Encodable {
        var id: String
        var name: String
        var type = "Microsoft.KeyVault/vaults/accessPolicies"
        var location: String
        var properties: AccessPolicies
    }

    struct DeletedVault: Encodable {
        struct Properties: Encodable {
            var vaultId: String
            var location: String
            var deletionDate: String
            var scheduledPurgeDate: String
            var tags: [String: String]?
            var purgeProtectionEnabled: Bool
        }
        var id: String
        var name: String
        var type = "Microsoft.KeyVault/deletedVaults"
        var properties: Properties
    }

    struct CheckNameBody: Decodable {
        var name: String
        var type: String?
    }

    struct NameAvailability: Encodable {
        var nameAvailable: Bool
        var reason: String?
        var message: String?
    }

    // MARK: - Microsoft.Authorization

    struct RoleDefinition: Encodable {
        struct Permission: Encodable {
            var actions: [String]
            var notActions: [String]
            var dataActions: [String]
            var notDataActions: [String]
        }
        struct Properties: Encodable {
            var roleName: String
            var type = "BuiltInRole"
            var description: String
            var assignableScopes = ["/"]
            var permissions: [Permission]
        }
        var id: String
        var name: String
        var type = "Microsoft.Authorization/roleDefinitions"
        var properties: Properties
    }

    struct RoleAssignmentBody: Decodable {
        struct Properties: Decodable {
            var roleDefinitionId: String
            var principalId: String
            var principalType: String?
        }
        var properties: Properties
    }

    struct RoleAssignment: Encodable {
        struct Properties: Encodable {
            var roleDefinitionId: String
            var principalId: String
            var principalType: String?
            var scope: String
            var createdOn: String
            var updatedOn: String
        }
        var id: String
        var name: String
        var type = "Microsoft.Authorization/roleAssignments"
        var properties: Properties
    }
}

extension ARM.Permissions {
    init(_ permissions: [PermissionArea: Set<String>]) {
        keys = permissions[.keys]?.sorted() ?? []
        secrets = permissions[.secrets]?.sorted() ?? []
        certificates = permissions[.certificates]?.sorted() ?? []
        storage = permissions[.storage]?.sorted() ?? []
    }

    /// Permission names as clients write them (`Get`, `all`), checked and normalised.
    var granted: [PermissionArea: Set<String>] {
        get throws {
            var granted: [PermissionArea: Set<String>] = [:]
            for (area, names) in [(PermissionArea.keys, keys), (.secrets, secrets), (.certificates, certificates), (.storage, storage)] {
                if let names, !names.isEmpty { granted[area] = try AccessPolicy.permissions(names, in: area) }
            }
            return granted
        }
    }
}

extension ARM.AccessPolicyEntry {
    init(_ policy: AccessPolicy) {
        self.init(tenantId: policy.tenantId, objectId: policy.objectId, applicationId: nil, permissions: ARM.Permissions(policy.permissions))
    }

    var policy: AccessPolicy {
        get throws { AccessPolicy(tenantId: tenantId.lowercased(), objectId: objectId.lowercased(), permissions: try permissions.granted) }
    }
}

extension ARM.NetworkRuleSet {
    init(_ rules: VaultResourceSettings.NetworkRules) {
        self.init(
            bypass: rules.bypass, defaultAction: rules.defaultAction, ipRules: rules.ipRules.map(ARM.IPRule.init(value:)),
            virtualNetworkRules: rules.virtualNetworkRules.map { ARM.VirtualNetworkRule(id: $0, ignoreMissingVnetServiceEndpoint: nil) })
    }

    var rules: VaultResourceSettings.NetworkRules {
        VaultResourceSettings.NetworkRules(
            bypass: bypass, defaultAction: defaultAction, ipRules: ipRules?.map(\.value) ?? [],
            virtualNetworkRules: virtualNetworkRules?.map(\.id) ?? [])
    }
}

extension ARM.VaultBody {
    /// The changes the body asks for.
    var changes: ResourceManager.VaultChanges {
        get throws {
            ResourceManager.VaultChanges(
                location: location, tags: tags, tenantId: properties?.tenantId, sku: properties?.sku?.name,
                accessPolicies: try properties?.accessPolicies?.map { try $0.policy },
                enabledForDeployment: properties?.enabledForDeployment, enabledForDiskEncryption: properties?.enabledForDiskEncryption,
                enabledForTemplateDeployment: properties?.enabledForTemplateDeployment, rbacAuthorization: properties?.enableRbacAuthorization,
                retentionDays: properties?.softDeleteRetentionInDays, purgeProtection: properties?.enablePurgeProtection,
                networkRules: properties?.networkAcls?.rules, publicNetworkAccess: properties?.publicNetworkAccess,
                recover: properties?.createMode?.lowercased() == "recover")
        }
    }
}

extension Int64 {
    /// ARM's timestamps: ISO 8601 in UTC.
    var armTime: String { CivilTime(seconds: self).iso8601 }
}

extension ARM {
    // MARK: - Microsoft.Storage/storageAccounts

    struct StorageAccount: Encodable {
        var id: String
        var name: String
        var type = "Microsoft.Storage/storageAccounts"
        var location: String
        var tags: [String: String]?
        var kind: String
        var sku: StorageSku
        var properties: Properties

        struct Properties: Encodable {
            var provisioningState = "Succeeded"
            var creationTime: String
            var primaryLocation: String
            var statusOfPrimary = "available"
            var primaryEndpoints: Endpoints
            var supportsHttpsTrafficOnly = true
            var minimumTlsVersion = "TLS1_2"
            var allowBlobPublicAccess = false
            var allowSharedKeyAccess = true
            var accessTier = "Hot"
        }

        /// Only the Blob service is served.
        struct Endpoints: Encodable {
            var blob: String
        }
    }

    struct StorageSku: Codable {
        var name: String
        var tier: String?
    }

    /// `PUT` and `PATCH` bodies (their `properties` are Azure's options, which Coffre does not vary).
    struct StorageAccountBody: Decodable {
        var location: String?
        var tags: [String: String]?
        var sku: StorageSku?
        var kind: String?

        var changes: ResourceManager.StorageAccountChanges {
            ResourceManager.StorageAccountChanges(location: location, tags: tags, sku: sku?.name, kind: kind)
        }
    }

    /// `listKeys` and `regenerateKey` answers.
    struct StorageAccountKeys: Encodable {
        var keys: [Key]

        struct Key: Encodable {
            var keyName: String
            var value: String
            var permissions = "FULL"
            var creationTime: String
        }
    }

    struct RegenerateKeyBody: Decodable {
        var keyName: String
    }
}

extension ARM {
    // MARK: - Microsoft.KeyVault/managedHSMs

    struct ManagedHSM: Encodable {
        var id: String
        var name: String
        var type = "Microsoft.KeyVault/managedHSMs"
        var location: String
        var tags: [String: String]?
        var sku = ManagedHSMSku(family: "B", name: "Standard_B1")
        var properties: Properties

        struct Properties: Encodable {
            var tenantId: String
            var initialAdminObjectIds: [String]
            var hsmUri: String
            var enableSoftDelete = true
            var softDeleteRetentionInDays: Int
            var enablePurgeProtection: Bool
            var provisioningState = "Succeeded"
            var statusMessage: String
            var publicNetworkAccess = "Enabled"
            var securityDomainProperties: SecurityDomain
        }

        /// `activationStatus`: `Active`, `NotActivated` (until the security domain is downloaded) or `Failed`.
        struct SecurityDomain: Encodable {
            var activationStatus: String
            var activationStatusMessage: String
        }
    }

    struct ManagedHSMSku: Codable {
        var family: String?
        var name: String
    }

    /// A `PUT` body.
    struct ManagedHSMBody: Decodable {
        var location: String?
        var tags: [String: String]?
        var sku: ManagedHSMSku?
        var properties: Properties?

        struct Properties: Decodable {
            var tenantId: String?
            var initialAdminObjectIds: [String]?
            var softDeleteRetentionInDays: Int?
            var enablePurgeProtection: Bool?

            enum CodingKeys: String, CodingKey {
                case tenantId, initialAdminObjectIds, softDeleteRetentionInDays, enablePurgeProtection
            }

            init(from decoder: any Decoder) throws {
                let container = try decoder.container(keyedBy: CodingKeys.self)
                tenantId = try container.decodeIfPresent(String.self, forKey: .tenantId)
                initialAdminObjectIds = try container.decodeIfPresent([String].self, forKey: .initialAdminObjectIds)
                enablePurgeProtection = try container.decodeIfPresent(Bool.self, forKey: .enablePurgeProtection)
                // `az keyvault create --hsm-name --retention-days 7` sends the days as a string ("7"), which ARM takes.
                if let text = try? container.decodeIfPresent(String.self, forKey: .softDeleteRetentionInDays) {
                    guard let days = Int(text) else {
                        throw DecodingError.dataCorruptedError(
                            forKey: .softDeleteRetentionInDays, in: container, debugDescription: "'\(text)' is not a number of days.")
                    }
                    softDeleteRetentionInDays = days
                } else {
                    softDeleteRetentionInDays = try container.decodeIfPresent(Int.self, forKey: .softDeleteRetentionInDays)
                }
            }
        }

        var changes: ResourceManager.ManagedHSMChanges {
            ResourceManager.ManagedHSMChanges(
                location: location, tags: tags, tenantId: properties?.tenantId, sku: sku?.name,
                administrators: properties?.initialAdminObjectIds ?? [], retentionDays: properties?.softDeleteRetentionInDays,
                purgeProtection: properties?.enablePurgeProtection)
        }
    }
}
