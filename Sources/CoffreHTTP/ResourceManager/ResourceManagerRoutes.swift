import CoffreAuth
import CoffreBlob
import CoffreCore
import CoffreModel
import Foundation
import HTTPTypes
import Hummingbird

/// What the Azure Resource Manager groups' admission established: the caller's roles (read once per request).
struct ResourceManagerScope: Sendable {
    let grants: ResourceManager.Grants
}

typealias ARMRequest = RouteRequest<ResourceManagerScope>
typealias ARMRoute = Route<OperationName, ResourceManagerScope>

/// Azure Resource Manager on the server's own host, as `az` and the `azure-mgmt-*` packages call it: tenants, the
/// subscription, resource groups, `Microsoft.KeyVault/vaults` and `Microsoft.Authorization`. Authenticated by tokens
/// for the ARM audience, authorised by the caller's roles (``ResourceManager``), errors in ARM's shape, audited.
/// Every operation completes within its request, so creations answer 200/201 with `provisioningState: Succeeded` and
/// deletions 200, which ARM clients take as finished long-running operations.
struct ResourceManagerRoutes: Sendable {
    let resources: ResourceManager
    let addressing: Addressing
    let policy: RoutePolicy

    init(services: CoffreServices, addressing: Addressing) {
        resources = services.resources
        self.addressing = addressing
        policy = RoutePolicy(
            authentication: AudienceAuthentication(
                services, addressing, audience: addressing.managementResource,
                challenge: "Bearer authorization_uri=\"\(addressing.authority)\", error=\"invalid_token\", "
                    + "error_description=\"The access token is missing or invalid.\""
            ) { missing, reason in
                missing
                    ? ResourceManagerError.authenticationFailed("Authentication failed. The 'Authorization' header is missing.")
                    : ResourceManagerError.invalidAuthenticationToken("The access token is invalid. \(reason)")
            },
            requiresApiVersion: false, maxBodySize: 1024 * 1024, errors: CodeAndMessageErrors(),
            auditor: Auditor(sink: services.audit, metrics: services.metrics))
    }

    var subscriptionId: String { resources.subscriptionId }

    /// Everything under `/subscriptions` (claimed: an unknown path there is ARM's to refuse), and the few top-level
    /// paths (`/tenants`, `/subscriptions`, tenant-level role definitions).
    var groups: [RouteGroup<OperationName, ResourceManagerScope>] {
        [
            RouteGroup(hosts: [.server], prefix: "", policy: policy, routes: topLevel, admit: admit),
            RouteGroup(hosts: [.server], prefix: "subscriptions", claimsUnmatched: true, policy: policy, routes: subscriptionRoutes, admit: admit),
        ]
    }

    @Sendable func admit(_ request: RouteRequest<Void>, _ match: RouteMatch<OperationName, ResourceManagerScope>) async throws
        -> ResourceManagerScope
    {
        guard let caller = request.caller else { throw ResourceManagerError.authenticationFailed("Authentication failed.") }
        guard let version = request.query["api-version"], !version.isEmpty else { throw ResourceManagerError.missingApiVersion }
        guard ApiVersion.isApiVersion(Array(version.utf8)) else { throw ResourceManagerError.invalidApiVersion(version) }
        request.audit?.note { $0.apiVersion = version }
        guard case .route = match else {
            throw ResourceManagerError.badRequest(
                code: "InvalidResourceType",
                message: "The resource type of \(request.incoming.method) \(request.incoming.path) could not be found in this Coffre subscription.")
        }
        if let subscription = request.parameters["subscription"] { try resources.checkSubscription(subscription) }
        return ResourceManagerScope(grants: try await resources.authorization.grants(of: caller))
    }

    // MARK: - Routes

    var topLevel: [ARMRoute] {
        [
            Route(.get, "tenants", "TenantList") { _ in
                let domain = String(addressing.authority.dropFirst("https://".count).prefix { $0 != ":" })
                return try JSON.response(
                    ARM.List(value: [
                        ARM.Tenant(
                            id: "/tenants/\(resources.tenantId)", tenantId: resources.tenantId, displayName: Subscription.displayName,
                            defaultDomain: domain, domains: [domain])
                    ]))
            },
            Route(.get, "subscriptions", "SubscriptionList") { request in
                try JSON.response(ARM.List(value: try await resources.subscriptions(request.grants).map { _ in subscription }))
            },
            Route(.get, "providers/Microsoft.Authorization/roleDefinitions/{id}", "RoleDefinitionGet") { request in
                try JSON.response(
                    view(try await resources.roleDefinition(request.grants, at: .subscription, id: request.parameter("id")), scoped: false))
            },
        ]
    }

    var subscription: ARM.Subscription {
        ARM.Subscription(
            id: "/subscriptions/\(subscriptionId)", subscriptionId: subscriptionId, tenantId: resources.tenantId,
            displayName: Subscription.displayName)
    }

    static let group = "{subscription}/resourcegroups/{group}"
    static let vault = group + "/providers/Microsoft.KeyVault/vaults/{vault}"
    static let keyVault = "{subscription}/providers/Microsoft.KeyVault"
    static let managedHSM = group + "/providers/Microsoft.KeyVault/managedHSMs/{pool}"
    static let storageAccount = group + "/providers/Microsoft.Storage/storageAccounts/{account}"

    var subscriptionRoutes: [ARMRoute] {
        var routes: [ARMRoute] = [
            Route(.get, "{subscription}", "SubscriptionGet") { request in
                try await resources.checkSubscriptionAccess(request.grants)
                return try JSON.response(subscription)
            },
            Route(.get, "{subscription}/resourcegroups", "ResourceGroupList") { request in
                try JSON.response(ARM.List(value: try await resources.listGroups(request.grants).map(view)))
            },
            Route(.put, Self.group, "ResourceGroupWrite", putGroup),
            Route(.patch, Self.group, "ResourceGroupWrite", patchGroup),
            Route(.get, Self.group, "ResourceGroupRead") { request in
                try JSON.response(view(try await resources.group(request.grants, request.parameter("group"))))
            },
            Route(.head, Self.group, "ResourceGroupRead") { request in
                let exists = (try? await resources.group(request.grants, request.parameter("group"))) != nil
                return Response(status: exists ? .noContent : .notFound)
            },
            Route(.delete, Self.group, "ResourceGroupDelete") { request in
                guard try await resources.deleteGroup(request.grants, request.parameter("group")) else {
                    throw ResourceManagerError.resourceGroupNotFound(request.parameter("group"))
                }
                return Response(status: .ok)
            },
            Route(.get, "{subscription}/resources", "ResourceList") { try await listResources($0, group: nil) },
            Route(.get, Self.group + "/resources", "ResourceList") { try await listResources($0, group: $0.parameter("group")) },
            Route(.get, Self.keyVault + "/vaults", "VaultList") { request in
                try JSON.response(ARM.List(value: try await resources.listVaults(request.grants, group: nil).map(view)))
            },
            Route(.get, Self.group + "/providers/Microsoft.KeyVault/vaults", "VaultList") { request in
                try JSON.response(ARM.List(value: try await resources.listVaults(request.grants, group: request.parameter("group")).map(view)))
            },
            Route(.put, Self.vault, "VaultPut", putVault),
            Route(.patch, Self.vault, "VaultPatch") { request in
                let vault = try await resources.updateVault(
                    request.grants, group: request.parameter("group"), name: request.parameter("vault"),
                    try request.decode(ARM.VaultBody.self).changes)
                return try JSON.response(view(vault))
            },
            Route(.get, Self.vault, "VaultGet") { request in
                try JSON.response(
                    view(try await resources.vault(request.grants, group: request.parameter("group"), name: request.parameter("vault"))))
            },
            Route(.delete, Self.vault, "VaultDelete") { request in
                let deleted = try await resources.deleteVault(request.grants, group: request.parameter("group"), name: request.parameter("vault"))
                return Response(status: deleted ? .ok : .noContent)
            },
            Route(.put, Self.vault + "/accessPolicies/{kind}", "VaultAccessPolicyUpdate", updateAccessPolicies),
            Route(.get, Self.keyVault + "/deletedVaults", "DeletedVaultList") { request in
                try JSON.response(ARM.List(value: try await resources.deletedVaults(request.grants).map(view)))
            },
            Route(.get, Self.keyVault + "/locations/{location}/deletedVaults/{vault}", "DeletedVaultGet") { request in
                try JSON.response(
                    view(try await resources.deletedVault(request.grants, location: request.parameter("location"), name: request.parameter("vault"))))
            },
            Route(.post, Self.keyVault + "/locations/{location}/deletedVaults/{vault}/purge", "DeletedVaultPurge") { request in
                try await resources.purgeDeletedVault(request.grants, location: request.parameter("location"), name: request.parameter("vault"))
                return Response(status: .ok)
            },
            Route(.post, Self.keyVault + "/checkNameAvailability", "VaultCheckNameAvailability") { request in
                let name = try request.decode(ARM.CheckNameBody.self).name
                return try JSON.response(
                    Self.availability(
                        try await resources.checkNameAvailability(request.grants, name: name), taken: "The vault name '\(name)' is already in use."))
            },
            Route(.get, Self.keyVault + "/deletedManagedHSMs", "DeletedManagedHsmList") { _ in
                try JSON.response(ARM.List<ARM.GenericResource>(value: []))
            },
        ]
        routes += storageAccountRoutes + managedHSMRoutes
        let objects = ["collection": { @Sendable (segment: String) in ["secrets", "keys", "certificates"].contains(segment.lowercased()) }]
        for scopePath in ["{subscription}", Self.group, Self.vault, Self.vault + "/{collection}/{object}"] {
            let authorization = scopePath + "/providers/Microsoft.Authorization"
            routes += [
                Route(.get, authorization + "/roleDefinitions", "RoleDefinitionList", accepting: objects, listRoleDefinitions),
                Route(.get, authorization + "/roleDefinitions/{id}", "RoleDefinitionGet", accepting: objects) { request in
                    try JSON.response(
                        view(try await resources.roleDefinition(request.grants, at: try scope(of: request), id: request.parameter("id"))))
                },
                Route(.get, authorization + "/roleAssignments", "RoleAssignmentList", accepting: objects, listRoleAssignments),
                Route(.put, authorization + "/roleAssignments/{assignment}", "RoleAssignmentWrite", accepting: objects, putRoleAssignment),
                Route(.get, authorization + "/roleAssignments/{assignment}", "RoleAssignmentGet", accepting: objects) { request in
                    try JSON.response(
                        view(try await resources.roleAssignment(request.grants, id: request.parameter("assignment"), at: try scope(of: request))))
                },
                Route(.delete, authorization + "/roleAssignments/{assignment}", "RoleAssignmentDelete", accepting: objects) { request in
                    guard
                        let deleted = try await resources.deleteRoleAssignment(
                            request.grants, id: request.parameter("assignment"), at: try scope(of: request))
                    else { return Response(status: .noContent) }
                    return try JSON.response(view(deleted))
                },
            ]
        }
        return routes
    }

    /// Every operation completes within its request: a creation answers 200 with `provisioningState: Succeeded` (the
    /// pool then waits for its security domain download, as in Azure), a deletion 200.
    var managedHSMRoutes: [ARMRoute] {
        [
            Route(.get, Self.keyVault + "/managedHSMs", "ManagedHsmList") { request in
                try JSON.response(ARM.List(value: try await resources.listManagedHSMs(request.grants, group: nil).map(view)))
            },
            Route(.get, Self.group + "/providers/Microsoft.KeyVault/managedHSMs", "ManagedHsmList") { request in
                try JSON.response(ARM.List(value: try await resources.listManagedHSMs(request.grants, group: request.parameter("group")).map(view)))
            },
            Route(.put, Self.managedHSM, "ManagedHsmWrite") { request in
                // Microsoft.KeyVault answers a pool's creation 200 or 202, never 201: its clients refuse a 201.
                let (pool, _) = try await resources.createManagedHSM(
                    request.grants, group: request.parameter("group"), name: request.parameter("pool"),
                    try request.decode(ARM.ManagedHSMBody.self).changes)
                return try JSON.response(view(pool))
            },
            Route(.get, Self.managedHSM, "ManagedHsmRead") { request in
                try JSON.response(
                    view(try await resources.managedHSM(request.grants, group: request.parameter("group"), name: request.parameter("pool"))))
            },
            Route(.delete, Self.managedHSM, "ManagedHsmDelete") { request in
                let deleted = try await resources.deleteManagedHSM(request.grants, group: request.parameter("group"), name: request.parameter("pool"))
                return Response(status: deleted ? .ok : .noContent)
            },
        ]
    }

    var storageAccountRoutes: [ARMRoute] {
        [
            Route(.put, Self.storageAccount, "StorageAccountWrite") { request in
                // Microsoft.Storage answers a creation 200 (finished) or 202, never 201: its clients refuse a 201.
                let (account, _) = try await resources.createOrUpdateStorageAccount(
                    request.grants, group: request.parameter("group"), name: request.parameter("account"),
                    try request.decode(ARM.StorageAccountBody.self).changes)
                return try JSON.response(view(account))
            },
            Route(.patch, Self.storageAccount, "StorageAccountWrite") { request in
                let account = try await resources.updateStorageAccount(
                    request.grants, group: request.parameter("group"), name: request.parameter("account"),
                    try request.decode(ARM.StorageAccountBody.self).changes)
                return try JSON.response(view(account))
            },
            Route(.get, Self.storageAccount, "StorageAccountRead") { request in
                try JSON.response(
                    view(try await resources.storageAccount(request.grants, group: request.parameter("group"), name: request.parameter("account"))))
            },
            Route(.delete, Self.storageAccount, "StorageAccountDelete") { request in
                let deleted = try await resources.deleteStorageAccount(
                    request.grants, group: request.parameter("group"), name: request.parameter("account"))
                return Response(status: deleted ? .ok : .noContent)
            },
            Route(.post, Self.storageAccount + "/listKeys", "StorageAccountListKeys") { request in
                try JSON.response(
                    keys(
                        try await resources.storageAccountKeys(request.grants, group: request.parameter("group"), name: request.parameter("account")))
                )
            },
            Route(.post, Self.storageAccount + "/regenerateKey", "StorageAccountRegenerateKey") { request in
                let keyName = try request.decode(ARM.RegenerateKeyBody.self).keyName
                return try JSON.response(
                    keys(
                        try await resources.regenerateStorageAccountKey(
                            request.grants, group: request.parameter("group"), name: request.parameter("account"), keyName: keyName)))
            },
            Route(.get, "{subscription}/providers/Microsoft.Storage/storageAccounts", "StorageAccountList") { request in
                try JSON.response(ARM.List(value: try await resources.listStorageAccounts(request.grants, group: nil).map(view)))
            },
            Route(.get, Self.group + "/providers/Microsoft.Storage/storageAccounts", "StorageAccountList") { request in
                try JSON.response(
                    ARM.List(value: try await resources.listStorageAccounts(request.grants, group: request.parameter("group")).map(view)))
            },
            Route(.post, "{subscription}/providers/Microsoft.Storage/checkNameAvailability", "StorageAccountCheckNameAvailability") { request in
                let name = try request.decode(ARM.CheckNameBody.self).name
                return try JSON.response(
                    Self.availability(
                        try await resources.checkStorageAccountName(request.grants, name: name),
                        taken: "The storage account named \(name) is already taken."))
            },
        ]
    }

    static func availability(_ unavailability: ResourceManager.NameUnavailability?, taken: String) -> ARM.NameAvailability {
        switch unavailability {
        case nil: ARM.NameAvailability(nameAvailable: true)
        case .invalid(let message): ARM.NameAvailability(nameAvailable: false, reason: "AccountNameInvalid", message: message)
        case .alreadyExists: ARM.NameAvailability(nameAvailable: false, reason: "AlreadyExists", message: taken)
        }
    }

    // MARK: - Handlers

    func putGroup(_ request: ARMRequest) async throws -> Response {
        let body = try request.decode(ARM.ResourceGroupBody.self)
        guard let location = body.location, !location.isEmpty else {
            throw ResourceManagerError.badRequest(code: "LocationRequired", message: "The location property is required for this definition.")
        }
        let (group, created) = try await resources.createOrUpdateGroup(
            request.grants, name: request.parameter("group"), location: location, tags: body.tags)
        return try JSON.response(view(group), status: created ? .created : .ok)
    }

    func patchGroup(_ request: ARMRequest) async throws -> Response {
        let body = try request.decode(ARM.ResourceGroupBody.self)
        let current = try await resources.group(request.grants, request.parameter("group"))
        let (group, _) = try await resources.createOrUpdateGroup(
            request.grants, name: current.name, location: current.location, tags: body.tags ?? current.tags)
        return try JSON.response(view(group))
    }

    func putVault(_ request: ARMRequest) async throws -> Response {
        let changes = try request.decode(ARM.VaultBody.self).changes
        request.audit?.note { $0.vault = try? VaultName(request.parameter("vault")) }
        let (vault, created) = try await resources.createOrUpdateVault(
            request.grants, group: request.parameter("group"), name: request.parameter("vault"), changes)
        return try JSON.response(view(vault), status: created ? .created : .ok)
    }

    func updateAccessPolicies(_ request: ARMRequest) async throws -> Response {
        guard let kind = ResourceManager.AccessPolicyUpdate(rawValue: request.parameter("kind").lowercased()) else {
            throw ResourceManagerError.badRequest(
                code: "InvalidParameter", message: "The access policy operation '\(request.parameter("kind"))' is not add, replace or remove.")
        }
        let policies = try request.decode(ARM.AccessPolicyUpdateBody.self).properties.accessPolicies.map { try $0.policy }
        let vault = try await resources.updateAccessPolicies(
            request.grants, group: request.parameter("group"), name: request.parameter("vault"), kind, policies)
        return try JSON.response(
            ARM.AccessPolicyUpdate(
                id: vaultId(vault) + "/accessPolicies/\(kind.rawValue)", name: kind.rawValue, location: location(of: vault),
                properties: .init(accessPolicies: policies.map(ARM.AccessPolicyEntry.init))))
    }

    /// `$filter` of `…/resources`: `resourceType eq '…'`, `name eq '…'`, `resourceGroup eq '…'`, joined by `and`.
    func listResources(_ request: ARMRequest, group: String?) async throws -> Response {
        let clauses = try Self.filterClauses(request.query["$filter"])
        var wanted: [String: String] = [:]
        for clause in clauses {
            guard let (field, value) = Self.equality(clause), ["resourcetype", "name", "resourcegroup"].contains(field.lowercased()) else {
                throw Self.invalidFilter(clause)
            }
            wanted[field.lowercased()] = value.lowercased()
        }
        let vaults = try await resources.listVaults(request.grants, group: group).map { vault in
            (
                vault.group,
                ARM.GenericResource(
                    id: vaultId(vault), name: vault.name.value, type: "Microsoft.KeyVault/vaults", location: location(of: vault),
                    tags: vault.resource?.tags)
            )
        }
        let accounts = try await resources.listStorageAccounts(request.grants, group: group).map { account in
            let view = view(account)
            return (account.group, ARM.GenericResource(id: view.id, name: view.name, type: view.type, location: view.location, tags: view.tags))
        }
        let pools = try await resources.listManagedHSMs(request.grants, group: group).map { pool in
            let view = view(pool)
            return (pool.group, ARM.GenericResource(id: view.id, name: view.name, type: view.type, location: view.location, tags: view.tags))
        }
        let found = (vaults + accounts + pools).filter { group, resource in
            wanted["resourcetype"].map { resource.type.lowercased() == $0 } ?? true && wanted["name"].map { resource.name == $0 } ?? true
                && wanted["resourcegroup"].map { group.lowercased() == $0 } ?? true
        }
        return try JSON.response(ARM.List(value: found.map(\.1)))
    }

    func listRoleDefinitions(_ request: ARMRequest) async throws -> Response {
        var name: String?
        var none = false
        for clause in try Self.filterClauses(request.query["$filter"]) {
            switch Self.equality(clause).map({ ($0.field.lowercased(), $0.value) }) {
            case ("rolename", let value)?: name = value
            case ("type", let value)?: none = none || value.lowercased() != "builtinrole"
            default: throw Self.invalidFilter(clause)
            }
        }
        let roles = try await resources.roleDefinitions(request.grants, at: try scope(of: request), named: name)
        return try JSON.response(ARM.List(value: none ? [] : roles.map { view($0) }))
    }

    func listRoleAssignments(_ request: ARMRequest) async throws -> Response {
        var filter = ResourceManager.AssignmentFilter()
        for clause in try Self.filterClauses(request.query["$filter"]) {
            if clause.lowercased() == "atscope()" {
                filter.atScope = true
            } else if let (field, value) = Self.equality(clause), field.lowercased() == "principalid" {
                filter.principalId = value
            } else if clause.lowercased().hasPrefix("assignedto('"), clause.hasSuffix("')") {
                filter.principalId = String(clause.dropFirst("assignedTo('".count).dropLast(2))
            } else {
                throw Self.invalidFilter(clause)
            }
        }
        return try JSON.response(
            ARM.List(value: try await resources.roleAssignments(request.grants, at: try scope(of: request), filter: filter).map(view)))
    }

    func putRoleAssignment(_ request: ARMRequest) async throws -> Response {
        let body = try request.decode(ARM.RoleAssignmentBody.self).properties
        let (assignment, created) = try await resources.assignRole(
            request.grants, id: request.parameter("assignment"), at: try scope(of: request), roleDefinitionId: body.roleDefinitionId,
            principalId: body.principalId, principalType: body.principalType)
        return try JSON.response(view(assignment), status: created ? .created : .ok)
    }

    /// The scope a route's path names.
    func scope(of request: ARMRequest) throws -> ResourceScope {
        guard let group = request.parameters["group"] else { return .subscription }
        guard let vault = request.parameters["vault"] else { return .resourceGroup(group) }
        let object = request.parameters["collection"].map { "/\($0)/\(request.parameter("object"))" } ?? ""
        guard let target = try? RoleScope(parsing: "/vaults/\(vault)\(object)") else {
            throw ResourceManagerError.resourceNotFound(type: "Microsoft.KeyVault/vaults", name: vault, resourceGroup: group)
        }
        return .vault(resourceGroup: group, target)
    }

    // MARK: - Filters

    static func filterClauses(_ filter: String?) throws -> [String] {
        guard let filter, !filter.isEmpty else { return [] }
        var clauses: [String] = []
        var rest = Substring(filter)
        while let range = rest.range(of: " and ", options: .caseInsensitive) {
            clauses.append(rest[..<range.lowerBound].trimmingCharacters(in: .whitespaces))
            rest = rest[range.upperBound...]
        }
        clauses.append(rest.trimmingCharacters(in: .whitespaces))
        return clauses
    }

    /// `field eq 'value'` (a quote inside the value is doubled, as OData writes it).
    static func equality(_ clause: String) -> (field: String, value: String)? {
        guard let range = clause.range(of: " eq ", options: .caseInsensitive) else { return nil }
        let value = clause[range.upperBound...].trimmingCharacters(in: .whitespaces)
        guard value.count >= 2, value.hasPrefix("'"), value.hasSuffix("'") else { return nil }
        return (
            clause[..<range.lowerBound].trimmingCharacters(in: .whitespaces), value.dropFirst().dropLast().replacingOccurrences(of: "''", with: "'")
        )
    }

    static func invalidFilter(_ clause: String) -> ResourceManagerError {
        .badRequest(code: "InvalidFilterInQueryString", message: "The $filter clause '\(clause)' is not supported.")
    }

    // MARK: - Views

    func location(of vault: VaultRecord) -> String { vault.resource?.location ?? ResourceManager.location }

    func vaultId(_ vault: VaultRecord) -> String {
        ResourceScope.vault(resourceGroup: vault.group, RoleScope(vault: vault.name)).id(subscriptionId: subscriptionId)
    }

    func view(_ group: ResourceGroupRecord) -> ARM.ResourceGroup {
        ARM.ResourceGroup(
            id: ResourceScope.resourceGroup(group.name).id(subscriptionId: subscriptionId), name: group.name, location: group.location,
            tags: group.tags)
    }

    func view(_ vault: VaultRecord) -> ARM.Vault {
        let settings = vault.resource
        return ARM.Vault(
            id: vaultId(vault), name: vault.name.value, location: location(of: vault), tags: settings?.tags,
            properties: .init(
                sku: ARM.Sku(family: "A", name: settings?.sku ?? "standard"), tenantId: resources.tenantId,
                accessPolicies: vault.accessPolicies.map(ARM.AccessPolicyEntry.init), enabledForDeployment: settings?.enabledForDeployment ?? false,
                enabledForDiskEncryption: settings?.enabledForDiskEncryption ?? false,
                enabledForTemplateDeployment: settings?.enabledForTemplateDeployment ?? false, softDeleteRetentionInDays: vault.retentionDays,
                enableRbacAuthorization: vault.rbacAuthorization, enablePurgeProtection: vault.purgeProtection,
                networkAcls: settings?.networkRules.map(ARM.NetworkRuleSet.init), vaultUri: addressing.vaultURL(vault.name) + "/",
                publicNetworkAccess: settings?.publicNetworkAccess ?? "Enabled"))
    }

    func storageAccountId(_ account: StorageAccountRecord) -> String {
        ResourceScope.resourceGroup(account.group).id(subscriptionId: subscriptionId) + "/providers/Microsoft.Storage/storageAccounts/\(account.name)"
    }

    func view(_ account: StorageAccountRecord) -> ARM.StorageAccount {
        let location = account.resource?.location ?? ResourceManager.location
        return ARM.StorageAccount(
            id: storageAccountId(account), name: account.name.value, location: location, tags: account.resource?.tags,
            kind: account.resource?.kind ?? "StorageV2", sku: ARM.StorageSku(name: account.resource?.sku ?? "Standard_LRS", tier: "Standard"),
            properties: .init(
                creationTime: account.created.armTime, primaryLocation: location,
                primaryEndpoints: .init(blob: addressing.blobURL(account.name.value))))
    }

    func view(_ pool: ManagedHSMPool) -> ARM.ManagedHSM {
        let status: (String, String) =
            switch pool.activation {
            case .active: ("Active", "Your HSM has been activated and can be used for cryptographic operations.")
            case .failed(let reason, _): ("Failed", reason)
            case .notActivated, .activating:
                ("NotActivated", "Your HSM has been provisioned, but cannot be used for cryptographic operations until it is activated.")
            }
        return ARM.ManagedHSM(
            id: ResourceScope.resourceGroup(pool.group).id(subscriptionId: subscriptionId) + "/providers/Microsoft.KeyVault/managedHSMs/\(pool.name)",
            name: pool.name.value, location: pool.resource?.location ?? ResourceManager.location, tags: pool.resource?.tags,
            properties: .init(
                tenantId: pool.tenantId, initialAdminObjectIds: pool.administrators, hsmUri: addressing.managedHSMURL(pool.name) + "/",
                softDeleteRetentionInDays: pool.retentionDays, enablePurgeProtection: pool.purgeProtection,
                statusMessage: "The Managed HSM is provisioned and ready to use.",
                securityDomainProperties: .init(activationStatus: status.0, activationStatusMessage: status.1)))
    }

    func keys(_ account: StorageAccountRecord) -> ARM.StorageAccountKeys {
        ARM.StorageAccountKeys(keys: account.keys.map { .init(keyName: $0.name, value: $0.value, creationTime: $0.created.armTime) })
    }

    func view(_ deleted: DeletedVaultRecord) -> ARM.DeletedVault {
        let location = location(of: deleted.vault)
        return ARM.DeletedVault(
            id: "/subscriptions/\(subscriptionId)/providers/Microsoft.KeyVault/locations/\(location)/deletedVaults/\(deleted.vault.name)",
            name: deleted.vault.name.value,
            properties: .init(
                vaultId: vaultId(deleted.vault), location: location, deletionDate: deleted.deletedDate.armTime,
                scheduledPurgeDate: deleted.scheduledPurgeDate.armTime, tags: deleted.vault.resource?.tags,
                purgeProtectionEnabled: deleted.vault.purgeProtection))
    }

    func roleDefinitionId(_ id: String, scoped: Bool = true) -> String {
        (scoped ? "/subscriptions/\(subscriptionId)" : "") + "/providers/Microsoft.Authorization/roleDefinitions/\(id)"
    }

    func view(_ role: RoleDefinition, scoped: Bool = true) -> ARM.RoleDefinition {
        ARM.RoleDefinition(
            id: roleDefinitionId(role.id, scoped: scoped), name: role.id,
            properties: .init(
                roleName: role.name, description: role.description,
                permissions: [
                    .init(actions: role.actions, notActions: role.notActions, dataActions: role.dataActions, notDataActions: role.notDataActions)
                ]))
    }

    func view(_ assignment: ScopedRoleAssignment) -> ARM.RoleAssignment {
        let scope = assignment.scope.id(subscriptionId: subscriptionId)
        return ARM.RoleAssignment(
            id: scope + "/providers/Microsoft.Authorization/roleAssignments/\(assignment.id)", name: assignment.id,
            properties: .init(
                roleDefinitionId: roleDefinitionId(assignment.roleId), principalId: assignment.principalId, principalType: assignment.principalType,
                scope: scope, createdOn: assignment.created.armTime, updatedOn: assignment.created.armTime))
    }
}
