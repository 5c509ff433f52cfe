import CoffreAuth
import CoffreBlob
import CoffreCore
import CoffreDirectory
import CoffreHTTP
import CoffreModel
import CoffreServer
import Foundation
import HTTPTypes
import Testing

/// Azure Resource Manager on the server's host, as `az` and `azure-mgmt-keyvault` call it, through the one router.
struct ARMClient {
    let h: Harness
    let token: String
    let subscription: String

    static let management = "https://management.localhost:8443"

    /// The admin principal (Owner on the subscription).
    init(_ h: Harness) async throws {
        self.h = h
        token = try await h.adminToken(resource: Self.management)
        subscription = h.server.services.resources.subscriptionId
    }

    init(_ h: Harness, token: String) {
        self.h = h
        self.token = token
        subscription = h.server.services.resources.subscriptionId
    }

    /// A new application principal and its ARM token.
    static func application(_ h: Harness, named name: String) async throws -> (principal: PrincipalRecord, client: ARMClient) {
        let (principal, secret) = try await h.server.services.principals.create(displayName: name)
        let token = try await h.server.services.tokens.clientCredentials(
            tenant: "adfs", clientId: principal.clientId, clientSecret: secret, scope: management + "/.default"
        ).accessToken
        return (principal, ARMClient(h, token: token))
    }

    var base: String { "/subscriptions/\(subscription)" }

    func vaultPath(_ group: String, _ vault: String) -> String {
        "\(base)/resourceGroups/\(group)/providers/Microsoft.KeyVault/vaults/\(vault)"
    }

    func send(_ method: HTTPRequest.Method, _ path: String, json: Any? = nil, version: String? = "2026-02-01") async throws -> Harness.Reply {
        let query = version.map { (path.contains("?") ? "&" : "?") + "api-version=\($0)" } ?? ""
        return try await h.send(method, path + query, host: "localhost:8443", token: token, json: json)
    }

    func createGroup(_ name: String) async throws -> Harness.Reply {
        try await send(.put, "\(base)/resourcegroups/\(name)", json: ["location": "westeurope"], version: "2024-11-01")
    }

    func createVault(_ group: String, _ name: String, rbac: Bool = false, policies: [[String: Any]] = []) async throws -> Harness.Reply {
        try await send(
            .put, vaultPath(group, name),
            json: [
                "location": "westeurope",
                "properties": [
                    "tenantId": h.server.services.resources.tenantId, "sku": ["family": "A", "name": "standard"], "accessPolicies": policies,
                    "enableRbacAuthorization": rbac, "enableSoftDelete": true, "softDeleteRetentionInDays": 7,
                    "networkAcls": ["bypass": "AzureServices", "defaultAction": "Allow", "ipRules": [], "virtualNetworkRules": []],
                ],
            ])
    }
}

extension Harness.Reply {
    var properties: [String: Any] { json["properties"] as? [String: Any] ?? [:] }
    var values: [[String: Any]] { json["value"] as? [[String: Any]] ?? [] }
}

@Suite struct ResourceManagerTests {
    @Test func tenantsAndTheSubscriptionAreListedToThoseWithARole() async throws {
        let h = try await Harness()
        let arm = try await ARMClient(h)
        let tenants = try await arm.send(.get, "/tenants", version: "2022-12-01")
        #expect(tenants.values.first?["tenantId"] as? String == h.server.services.resources.tenantId)
        let subscriptions = try await arm.send(.get, "/subscriptions", version: "2022-12-01")
        #expect(subscriptions.values.map { $0["subscriptionId"] as? String } == [arm.subscription])
        #expect(subscriptions.values.first?["state"] as? String == "Enabled")
        #expect(try await arm.send(.get, arm.base).json["id"] as? String == arm.base)

        let (_, stranger) = try await ARMClient.application(h, named: "stranger")
        #expect(try await stranger.send(.get, "/subscriptions", version: "2022-12-01").values.isEmpty)
        #expect(try await stranger.send(.get, arm.base).errorCode == "AuthorizationFailed")
        #expect(try await arm.send(.get, "/subscriptions/00000000-0000-0000-0000-000000000000").errorCode == "SubscriptionNotFound")
    }

    @Test func requestsNeedAnARMTokenAndAnApiVersion() async throws {
        let h = try await Harness()
        let arm = try await ARMClient(h)
        let missing = try await h.send(.get, "/subscriptions?api-version=2022-12-01", host: "localhost:8443")
        #expect(missing.status == .unauthorized)
        #expect(missing.errorCode == "AuthenticationFailed")
        #expect(missing.headers[.wwwAuthenticate]?.hasPrefix("Bearer authorization_uri=") == true)
        let vaultToken = try await h.send(.get, "/subscriptions?api-version=2022-12-01", host: "localhost:8443", token: try await h.adminToken())
        #expect(vaultToken.errorCode == "InvalidAuthenticationToken")
        #expect(try await arm.send(.get, "/subscriptions", version: nil).errorCode == "MissingApiVersionParameter")
        #expect(try await arm.send(.get, "/subscriptions", version: "latest").errorCode == "InvalidApiVersionParameter")
        let unknown = try await arm.send(.get, "\(arm.base)/providers/Microsoft.Compute/virtualMachines")
        #expect(unknown.status == .badRequest)
        #expect(unknown.json["error"] as? [String: Any] != nil)
        // An ARM token opens neither the data plane nor the management API.
        #expect(try await h.send(.get, "/secrets?api-version=7.4", token: arm.token).status == .unauthorized)
    }

    @Test func resourceGroupsAreCreatedReadListedAndDeletedWithTheirVaults() async throws {
        let h = try await Harness()
        let arm = try await ARMClient(h)
        let created = try await arm.createGroup("MyGroup")
        #expect(created.status == .created)
        #expect(created.json["id"] as? String == "\(arm.base)/resourceGroups/MyGroup")
        #expect(try await arm.createGroup("mygroup").status == .ok)
        let moved = try await arm.send(.put, "\(arm.base)/resourcegroups/mygroup", json: ["location": "eastus"], version: "2024-11-01")
        #expect(moved.errorCode == "InvalidResourceGroupLocation")
        #expect(try await arm.send(.get, "\(arm.base)/RESOURCEGROUPS/mygroup").json["name"] as? String == "MyGroup")
        #expect(try await arm.send(.head, "\(arm.base)/resourcegroups/mygroup").status == .noContent)
        #expect(try await arm.send(.head, "\(arm.base)/resourcegroups/nothere").status == .notFound)
        let names = try await arm.send(.get, "\(arm.base)/resourcegroups").values.compactMap { $0["name"] as? String }
        #expect(Set(names) == ["default", "MyGroup"])

        #expect(try await arm.createVault("MyGroup", "groupvault").status == .created)
        #expect(try await arm.send(.delete, "\(arm.base)/resourcegroups/mygroup", version: "2024-11-01").status == .ok)
        #expect(try await arm.send(.get, "\(arm.base)/resourcegroups/mygroup").errorCode == "ResourceGroupNotFound")
        #expect(try await arm.send(.delete, "\(arm.base)/resourcegroups/mygroup").errorCode == "ResourceGroupNotFound")
        let deleted = try await arm.send(.get, "\(arm.base)/providers/Microsoft.KeyVault/deletedVaults")
        #expect(deleted.values.map { $0["name"] as? String } == ["groupvault"])
        #expect(try await arm.send(.delete, "\(arm.base)/resourcegroups/default").errorCode == "ScopeLocked")
    }

    @Test func aVaultMadeThroughARMIsTheVaultTheServerServes() async throws {
        let h = try await Harness()
        let arm = try await ARMClient(h)
        _ = try await arm.createGroup("rg")
        #expect(try await arm.send(.get, arm.vaultPath("rg", "armvault")).errorCode == "ResourceNotFound")
        let admin = h.server.state.identity
        let adminObject = try #require(try await h.server.services.principals.get(clientId: admin.adminClientId)).objectId
        let policy: [String: Any] = [
            "tenantId": h.server.services.resources.tenantId.uppercased(), "objectId": adminObject,
            "permissions": ["keys": [], "secrets": ["Get", "List", "Set", "Delete"], "certificates": [], "storage": []],
        ]
        let created = try await arm.createVault("rg", "armvault", policies: [policy])
        #expect(created.status == .created)
        #expect(created.properties["provisioningState"] as? String == "Succeeded")
        #expect(created.properties["vaultUri"] as? String == "https://armvault.vault.localhost:8443/")
        #expect(created.properties["softDeleteRetentionInDays"] as? Int == 7)
        #expect((created.properties["networkAcls"] as? [String: Any])?["defaultAction"] as? String == "Allow")
        #expect((created.properties["sku"] as? [String: Any])?["name"] as? String == "standard")

        // The data plane serves it, by its access policy.
        let host = "armvault.vault.localhost:8443"
        let token = try await h.adminToken()
        #expect(try await h.send(.put, "/secrets/s?api-version=7.4", host: host, token: token, json: ["value": "v"]).status == .ok)
        #expect(try await h.send(.get, "/keys?api-version=7.4", host: host, token: token).innerCode == "ForbiddenByPolicy")
        // The management API lists it in its group; a vault of `coffre vault create` is in the default group.
        let listed = try await h.send(.get, "/coffre/v1/vaults", host: "localhost:8443", token: token)
        let vaults = try #require(try JSONSerialization.jsonObject(with: listed.body) as? [[String: Any]])
        #expect(Set(vaults.map { "\($0["name"] ?? "")@\($0["resourceGroup"] ?? "")" }) == ["default@default", "armvault@rg"])
        let defaultVault = try await arm.send(.get, arm.vaultPath("default", "default"))
        #expect(defaultVault.json["id"] as? String == arm.vaultPath("default", "default"))
        #expect(try await arm.send(.get, arm.vaultPath("rg", "default")).errorCode == "ResourceNotFound")

        // Listing by group, by subscription and by the generic resources filter the CLI uses.
        #expect(try await arm.send(.get, "\(arm.base)/resourceGroups/rg/providers/Microsoft.KeyVault/vaults").values.count == 1)
        #expect(try await arm.send(.get, "\(arm.base)/providers/Microsoft.KeyVault/vaults").values.count == 2)
        let filter = "$filter=resourceType%20eq%20%27Microsoft.KeyVault%2Fvaults%27%20and%20name%20eq%20%27ArmVault%27"
        let found = try await arm.send(.get, "\(arm.base)/resources?\(filter)", version: "2015-11-01")
        #expect(found.values.map { $0["id"] as? String } == [arm.vaultPath("rg", "armvault")])

        // Another group cannot take the name; an update keeps what it does not name.
        _ = try await arm.createGroup("other")
        #expect(try await arm.createVault("other", "armvault").errorCode == "VaultAlreadyExists")
        let patched = try await arm.send(
            .patch, arm.vaultPath("rg", "armvault"), json: ["tags": ["env": "test"], "properties": ["enablePurgeProtection": true]])
        #expect(patched.properties["enablePurgeProtection"] as? Bool == true)
        #expect((patched.properties["accessPolicies"] as? [Any])?.count == 1)
        #expect((patched.json["tags"] as? [String: String]) == ["env": "test"])
        let unprotect = try await arm.send(.patch, arm.vaultPath("rg", "armvault"), json: ["properties": ["enablePurgeProtection": false]])
        #expect(unprotect.status == .badRequest)
    }

    @Test func accessPoliciesAreAddedReplacedAndRemoved() async throws {
        let h = try await Harness()
        let arm = try await ARMClient(h)
        _ = try await arm.createGroup("rg")
        _ = try await arm.createVault("rg", "policyvault")
        let tenant = h.server.services.resources.tenantId
        let object = "11111111-2222-3333-4444-555555555555"
        func update(_ kind: String, _ secrets: [String]) async throws -> [String] {
            let body: [String: Any] = [
                "properties": ["accessPolicies": [["tenantId": tenant, "objectId": object, "permissions": ["secrets": secrets]]]]
            ]
            #expect(try await arm.send(.put, arm.vaultPath("rg", "policyvault") + "/accessPolicies/\(kind)", json: body).status == .ok)
            let vault = try await arm.send(.get, arm.vaultPath("rg", "policyvault"))
            let policies = vault.properties["accessPolicies"] as? [[String: Any]] ?? []
            return (policies.first?["permissions"] as? [String: [String]])?["secrets"] ?? []
        }
        #expect(try await update("add", ["get"]) == ["get"])
        #expect(try await update("add", ["list"]) == ["get", "list"])
        #expect(try await update("replace", ["set"]) == ["set"])
        #expect(try await update("remove", ["set"]) == [])
        let bad = try await arm.send(.put, arm.vaultPath("rg", "policyvault") + "/accessPolicies/merge", json: ["properties": ["accessPolicies": []]])
        #expect(bad.status == .badRequest)
    }

    @Test func deletedVaultsAreListedRecoveredAndPurged() async throws {
        let h = try await Harness()
        let arm = try await ARMClient(h)
        _ = try await arm.createGroup("rg")
        _ = try await arm.createVault("rg", "softvault")
        let token = try await h.adminToken()
        let host = "softvault.vault.localhost:8443"
        _ = try await arm.send(.patch, arm.vaultPath("rg", "softvault"), json: ["properties": ["enableRbacAuthorization": true]])
        _ = try await arm.send(
            .put, arm.vaultPath("rg", "softvault") + "/providers/Microsoft.Authorization/roleAssignments/\(UUID().uuidString)",
            json: [
                "properties": [
                    "roleDefinitionId": "/providers/Microsoft.Authorization/roleDefinitions/b86a8fe4-44ce-4948-aee5-eccb2c155cd7",
                    "principalId": try #require(try await h.server.services.principals.get(clientId: h.server.state.identity.adminClientId)).objectId,
                ]
            ])
        #expect(try await h.send(.put, "/secrets/kept?api-version=7.4", host: host, token: token, json: ["value": "v"]).status == .ok)

        #expect(try await arm.send(.delete, arm.vaultPath("rg", "softvault")).status == .ok)
        #expect(try await arm.send(.delete, arm.vaultPath("rg", "softvault")).status == .noContent)
        #expect(try await h.send(.get, "/secrets/kept?api-version=7.4", host: host, token: token).errorCode == "VaultNotFound")
        let deleted = try await arm.send(.get, "\(arm.base)/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/softvault")
        #expect((deleted.properties["vaultId"] as? String) == arm.vaultPath("rg", "softvault"))
        #expect(deleted.properties["scheduledPurgeDate"] as? String != nil)
        #expect(try await arm.createVault("rg", "softvault").errorCode == "ConflictError")
        let available = try await arm.send(
            .post, "\(arm.base)/providers/Microsoft.KeyVault/checkNameAvailability", json: ["name": "softvault", "type": "Microsoft.KeyVault/vaults"])
        #expect(available.json["nameAvailable"] as? Bool == false)
        #expect(available.json["reason"] as? String == "AlreadyExists")

        // Recovery brings back the vault, its objects and its role assignments.
        let recovered = try await arm.send(
            .put, arm.vaultPath("rg", "softvault"),
            json: ["location": "westeurope", "properties": ["tenantId": arm.h.server.services.resources.tenantId, "createMode": "recover"]])
        #expect(recovered.status == .ok)
        #expect(try await h.send(.get, "/secrets/kept?api-version=7.4", host: host, token: token).json["value"] as? String == "v")

        _ = try await arm.send(.delete, arm.vaultPath("rg", "softvault"))
        let purgePath = "\(arm.base)/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/softvault/purge"
        #expect(
            try await arm.send(.post, "\(arm.base)/providers/Microsoft.KeyVault/locations/eastus/deletedVaults/softvault/purge").status == .notFound)
        #expect(try await arm.send(.post, purgePath).status == .ok)
        #expect(try await arm.send(.get, "\(arm.base)/providers/Microsoft.KeyVault/deletedVaults").values.isEmpty)
        // Nothing of it is left: a vault of the same name starts empty, without the old role assignment.
        #expect(try await arm.createVault("rg", "softvault", rbac: true).status == .created)
        #expect(try await h.send(.get, "/secrets/kept?api-version=7.4", host: host, token: token).innerCode == "ForbiddenByRbac")
    }

    @Test func purgeProtectionAndTheSweeperPurgeOnSchedule() async throws {
        let h = try await Harness()
        let arm = try await ARMClient(h)
        _ = try await arm.createGroup("rg")
        _ = try await arm.createVault("rg", "keptvault")
        _ = try await arm.send(.patch, arm.vaultPath("rg", "keptvault"), json: ["properties": ["enablePurgeProtection": true]])
        _ = try await arm.send(.delete, arm.vaultPath("rg", "keptvault"))
        let purge = try await arm.send(.post, "\(arm.base)/providers/Microsoft.KeyVault/locations/westeurope/deletedVaults/keptvault/purge")
        #expect(purge.status == .conflict)
        h.clock.advance(seconds: 7 * Seconds.day + 1)
        #expect(try await h.server.sweeper.sweep() == 1)
        #expect(try await arm.send(.get, "\(arm.base)/providers/Microsoft.KeyVault/deletedVaults").values.isEmpty)
    }

    @Test func rolesGrantManagementActionsAndDataAccessFromEveryScope() async throws {
        let h = try await Harness()
        let arm = try await ARMClient(h)
        _ = try await arm.createGroup("rg")
        _ = try await arm.createVault("rg", "rbacvault", rbac: true)
        let (app, client) = try await ARMClient.application(h, named: "operator")
        let refused = try await client.send(.get, arm.vaultPath("rg", "rbacvault"))
        #expect(refused.status == .forbidden)
        #expect(refused.errorCode == "AuthorizationFailed")
        #expect((refused.json["error"] as? [String: Any])?["message"] as? String != nil)

        // Role definitions by name, with their real ids.
        let readers = try await arm.send(
            .get, "\(arm.base)/resourceGroups/rg/providers/Microsoft.Authorization/roleDefinitions?$filter=roleName%20eq%20%27Reader%27",
            version: "2022-05-01-preview")
        #expect(readers.values.map { $0["name"] as? String } == ["acdd72a7-3385-48ef-bd42-f606fba81ae7"])
        let readerId = try #require(readers.values.first?["id"] as? String)

        // Reader on the group: read, not write.
        let assignmentName = UUID().uuidString.lowercased()
        let assignmentPath = "\(arm.base)/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/\(assignmentName)"
        let assign: [String: Any] = ["properties": ["roleDefinitionId": readerId, "principalId": app.objectId, "principalType": "ServicePrincipal"]]
        #expect(try await client.send(.put, assignmentPath, json: assign, version: "2022-04-01").errorCode == "AuthorizationFailed")
        let assigned = try await arm.send(.put, assignmentPath, json: assign, version: "2022-04-01")
        #expect(assigned.status == .created)
        #expect(assigned.properties["scope"] as? String == "\(arm.base)/resourceGroups/rg")
        #expect(try await arm.send(.put, assignmentPath, json: assign, version: "2022-04-01").status == .ok)
        let other = "\(arm.base)/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/\(UUID().uuidString)"
        #expect(try await arm.send(.put, other, json: assign, version: "2022-04-01").errorCode == "RoleAssignmentExists")
        #expect(try await client.send(.get, arm.vaultPath("rg", "rbacvault")).status == .ok)
        #expect(try await client.send(.get, "\(arm.base)/resources").values.count == 1)
        #expect(try await client.send(.delete, arm.vaultPath("rg", "rbacvault")).errorCode == "AuthorizationFailed")
        #expect(try await client.send(.get, "/subscriptions", version: "2022-12-01").values.count == 1)

        // Listing: at the group, at the vault (inherited), by principal.
        let atVault = try await arm.send(
            .get, arm.vaultPath("rg", "rbacvault") + "/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()", version: "2022-04-01")
        #expect(atVault.values.map { $0["name"] as? String } == [assignmentName])
        let atSubscription = try await arm.send(
            .get, "\(arm.base)/providers/Microsoft.Authorization/roleAssignments?$filter=atScope()", version: "2022-04-01")
        #expect(atSubscription.values.isEmpty)
        let byPrincipal = try await arm.send(
            .get, "\(arm.base)/providers/Microsoft.Authorization/roleAssignments?$filter=principalId%20eq%20%27\(app.objectId)%27",
            version: "2022-04-01")
        #expect(byPrincipal.values.count == 1)

        // A data-plane role on the group grants data access to the RBAC vaults inside it, as in Azure.
        let dataToken = try await h.server.services.tokens.managedIdentity(for: app, resource: "https://vault.localhost:8443").accessToken
        let host = "rbacvault.vault.localhost:8443"
        #expect(
            try await h.send(.put, "/secrets/s?api-version=7.4", host: host, token: dataToken, json: ["value": "v"]).innerCode == "ForbiddenByRbac")
        let officerPath = arm.vaultPath("rg", "rbacvault") + "/secrets/s/providers/Microsoft.Authorization/roleAssignments/\(UUID().uuidString)"
        let officer: [String: Any] = [
            "properties": ["roleDefinitionId": "Key Vault Secrets Officer", "principalId": app.objectId, "principalType": "ServicePrincipal"]
        ]
        #expect(try await arm.send(.put, officerPath, json: officer, version: "2022-04-01").errorCode == "RoleDefinitionDoesNotExist")
        let officerId = "/subscriptions/\(arm.subscription)/providers/Microsoft.Authorization/roleDefinitions/b86a8fe4-44ce-4948-aee5-eccb2c155cd7"
        let groupOfficer = "\(arm.base)/resourceGroups/rg/providers/Microsoft.Authorization/roleAssignments/\(UUID().uuidString)"
        #expect(
            try await arm.send(
                .put, groupOfficer, json: ["properties": ["roleDefinitionId": officerId, "principalId": app.objectId]], version: "2022-04-01"
            )
            .status == .created)
        #expect(try await h.send(.put, "/secrets/s?api-version=7.4", host: host, token: dataToken, json: ["value": "v"]).status == .ok)

        // Deleting the assignment takes the access away at the next request.
        #expect(try await arm.send(.delete, assignmentPath, version: "2022-04-01").status == .ok)
        #expect(try await arm.send(.delete, assignmentPath, version: "2022-04-01").status == .noContent)
        #expect(try await client.send(.get, arm.vaultPath("rg", "rbacvault")).errorCode == "AuthorizationFailed")
    }

    @Test func aVaultScopedAssignmentIsTheDataPlaneRoleAssignment() async throws {
        let h = try await Harness()
        let arm = try await ARMClient(h)
        _ = try await arm.createVault("default", "scoped", rbac: true)
        let (app, _) = try await ARMClient.application(h, named: "reader")
        let name = UUID().uuidString.lowercased()
        let path = arm.vaultPath("default", "scoped") + "/providers/Microsoft.Authorization/roleAssignments/\(name)"
        let body: [String: Any] = [
            "properties": [
                "roleDefinitionId":
                    "/subscriptions/\(arm.subscription)/providers/Microsoft.Authorization/roleDefinitions/4633458b-17de-408a-b874-0445c86b69e6",
                "principalId": app.objectId, "principalType": "ServicePrincipal",
            ]
        ]
        #expect(try await arm.send(.put, path, json: body, version: "2022-04-01").status == .created)
        let stored = try await h.server.services.roleAssignments.list(in: VaultName("scoped"))
        #expect(stored.map(\.id) == [name])
        #expect(try await arm.send(.get, path, version: "2022-04-01").properties["principalType"] as? String == "ServicePrincipal")
    }

    @Test func storageAccountsAreTheBlobServicesAccounts() async throws {
        let h = try await Harness()
        let arm = try await ARMClient(h)
        _ = try await arm.createGroup("data")
        let path = "\(arm.base)/resourceGroups/data/providers/Microsoft.Storage/storageAccounts/armstore"
        let body: [String: Any] = ["location": "westeurope", "sku": ["name": "Standard_GRS"], "kind": "StorageV2", "tags": ["a": "b"]]
        let created = try await arm.send(.put, path, json: body, version: "2024-01-01")
        #expect(created.status == .ok)
        #expect(created.properties["provisioningState"] as? String == "Succeeded")
        #expect((created.properties["primaryEndpoints"] as? [String: Any])?["blob"] as? String == "https://armstore.blob.localhost:8443/")
        #expect((created.json["sku"] as? [String: Any])?["name"] as? String == "Standard_GRS")
        let account = try await h.server.services.blob.accounts.get(StorageAccountName("armstore"))
        #expect(account.group == "data")

        // Keys are the Blob service's; a regenerated one replaces it there.
        let keys = try await arm.send(.post, path + "/listKeys", version: "2024-01-01").json["keys"] as? [[String: Any]] ?? []
        #expect(keys.map { $0["value"] as? String } == account.keys.map(\.value))
        let renewed = try await arm.send(.post, path + "/regenerateKey", json: ["keyName": "key2"], version: "2024-01-01")
        let key2 = try await h.server.services.blob.accounts.get(StorageAccountName("armstore")).key(named: "key2")?.value
        #expect((renewed.json["keys"] as? [[String: Any]])?.last?["value"] as? String == key2)
        #expect(key2 != account.key(named: "key2")?.value)
        #expect(
            try await arm.send(.post, path + "/regenerateKey", json: ["keyName": "key3"], version: "2024-01-01").errorCode
                == "InvalidValuesForRequestParameters")

        // Lists, the resources filter, name availability; accounts of `coffre storage account create` are in `default`.
        _ = try await h.server.services.blob.accounts.create(StorageAccountName("cmdstore"))
        let all = try await arm.send(.get, "\(arm.base)/providers/Microsoft.Storage/storageAccounts", version: "2024-01-01")
        #expect(
            Set(all.values.compactMap { $0["id"] as? String }) == [
                path, "\(arm.base)/resourceGroups/default/providers/Microsoft.Storage/storageAccounts/cmdstore",
            ])
        let filtered = try await arm.send(
            .get, "\(arm.base)/resources?$filter=resourceType%20eq%20%27Microsoft.Storage/storageAccounts%27%20and%20name%20eq%20%27armstore%27",
            version: "2021-04-01")
        #expect(filtered.values.map { $0["id"] as? String } == [path])
        let check = "\(arm.base)/providers/Microsoft.Storage/checkNameAvailability"
        #expect(try await arm.send(.post, check, json: ["name": "armstore"], version: "2024-01-01").json["reason"] as? String == "AlreadyExists")
        #expect(try await arm.send(.post, check, json: ["name": "Bad_Name"], version: "2024-01-01").json["reason"] as? String == "AccountNameInvalid")
        #expect(try await arm.send(.post, check, json: ["name": "freestore"], version: "2024-01-01").json["nameAvailable"] as? Bool == true)
        let elsewhere = "\(arm.base)/resourceGroups/data/providers/Microsoft.Storage/storageAccounts/cmdstore"
        #expect(try await arm.send(.put, elsewhere, json: body, version: "2024-01-01").errorCode == "StorageAccountAlreadyTaken")

        // Authorisation from the group up; a refusal names the account.
        let (_, stranger) = try await ARMClient.application(h, named: "stranger")
        let refused = try await stranger.send(.post, path + "/listKeys", version: "2024-01-01")
        #expect(refused.errorCode == "AuthorizationFailed")
        let message = (refused.json["error"] as? [String: Any])?["message"] as? String ?? ""
        #expect(message.contains("storageAccounts/armstore"))

        // Deleting the group deletes the account with its blobs.
        #expect(try await arm.send(.delete, "\(arm.base)/resourcegroups/data", version: "2024-11-01").status == .ok)
        #expect(try await h.server.services.blob.accounts.find("armstore") == nil)
        #expect(try await arm.send(.delete, path, version: "2024-01-01").errorCode == "ResourceGroupNotFound")
    }
}
