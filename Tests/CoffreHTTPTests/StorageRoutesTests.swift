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

/// The storage API on the data plane: shapes of the bundles and items, ids under the host the client used, error codes,
/// audit records naming the storage object, and the SAS definition's secret.
@Suite struct StorageRoutesTests {
    static let resourceId = "/subscriptions/s/resourceGroups/default/providers/Microsoft.Storage/storageAccounts/routeacct"
    static let template = "sv=2026-10-06&ss=b&srt=sco&sp=rl&spr=https"

    static func harness() async throws -> Harness {
        let h = try await Harness()
        _ = try await h.server.services.blob.accounts.create(try StorageAccountName("routeacct"))
        return h
    }

    @Test func bundlesItemsAndDeletedBundlesHaveTheServiceShapes() async throws {
        let h = try await Self.harness()
        let set = try await h.admin(
            .put, "/storage/Acct1?api-version=7.0",
            json: [
                "resourceId": Self.resourceId, "activeKeyName": "key1", "autoRegenerateKey": true, "regenerationPeriod": "P30D", "tags": ["a": "b"],
            ])
        #expect(set.status == .ok, "\(set.text)")
        #expect(set.json["id"] as? String == "https://default.vault.localhost:8443/storage/Acct1")
        #expect(set.json["resourceId"] as? String == Self.resourceId && set.json["regenerationPeriod"] as? String == "P30D")
        #expect(set.json["activeKeyName"] as? String == "key1" && set.json["autoRegenerateKey"] as? Bool == true)
        let attributes = try #require(set.json["attributes"] as? [String: Any])
        #expect(Set(attributes.keys) == ["enabled", "created", "updated", "recoverableDays", "recoveryLevel"])
        #expect(h.audit.recorded.last?.properties.id == "https://default.vault.localhost:8443/storage/Acct1")
        #expect(h.audit.recorded.last?.operationName == "StorageAccountSet")

        let list = try await h.admin(.get, "/storage?api-version=7.0")
        let items = try #require(list.json["value"] as? [[String: Any]])
        #expect(items.count == 1 && Set(items[0].keys) == ["id", "resourceId", "attributes", "tags"])
        #expect(list.json.keys.contains("nextLink"))

        let definition = try await h.admin(
            .put, "/storage/acct1/sas/Reader?api-version=7.0", json: ["templateUri": Self.template, "sasType": "account", "validityPeriod": "PT1H"])
        #expect(definition.status == .ok, "\(definition.text)")
        #expect(definition.json["id"] as? String == "https://default.vault.localhost:8443/storage/Acct1/sas/Reader")
        #expect(definition.json["sid"] as? String == "https://default.vault.localhost:8443/secrets/Acct1-Reader")
        #expect(h.audit.recorded.last?.properties.id == "https://default.vault.localhost:8443/storage/acct1/sas/Reader")
        let secret = try await h.admin(.get, "/secrets/acct1-reader/?api-version=7.0")
        #expect(secret.json["contentType"] as? String == "application/vnd.ms-sastoken-storage" && secret.json["managed"] as? Bool == true)
        #expect((secret.json["value"] as? String)?.hasPrefix("se=") == true)
        let definitions = try await h.admin(.get, "/storage/acct1/sas?api-version=7.0&maxresults=1")
        let definitionItems = try #require(definitions.json["value"] as? [[String: Any]])
        #expect(definitionItems.count == 1 && Set(definitionItems[0].keys) == ["id", "sid", "attributes"])

        let deleted = try await h.admin(.delete, "/storage/acct1?api-version=7.0")
        #expect(deleted.json["recoveryId"] as? String == "https://default.vault.localhost:8443/deletedstorage/Acct1")
        #expect(deleted.json["deletedDate"] as? Int != nil && deleted.json["scheduledPurgeDate"] as? Int != nil)
        let deletedDefinition = try await h.admin(.get, "/deletedstorage/acct1/sas/reader?api-version=7.0")
        #expect(deletedDefinition.json["recoveryId"] as? String == "https://default.vault.localhost:8443/deletedstorage/Acct1/sas/Reader")
        #expect(try await h.admin(.delete, "/deletedstorage/acct1?api-version=7.0").status == .noContent)
    }

    @Test func errorsHaveTheServiceCodes() async throws {
        let h = try await Self.harness()
        let missing = try await h.admin(.get, "/storage/nosuch?api-version=7.0")
        #expect(missing.status == .notFound && missing.errorCode == "StorageAccountNotFound")
        _ = try await h.admin(
            .put, "/storage/acct1?api-version=7.0", json: ["resourceId": Self.resourceId, "activeKeyName": "key1", "autoRegenerateKey": false])
        let noDefinition = try await h.admin(.get, "/storage/acct1/sas/nosuch?api-version=7.0")
        #expect(noDefinition.status == .notFound && noDefinition.errorCode == "SasDefinitionNotFound")
        let incomplete = try await h.admin(.put, "/storage/acct2?api-version=7.0", json: ["resourceId": Self.resourceId, "activeKeyName": "key1"])
        #expect(incomplete.status == .badRequest && incomplete.errorCode == "BadParameter")
        let type = try await h.admin(
            .put, "/storage/acct1/sas/d?api-version=7.0", json: ["templateUri": Self.template, "sasType": "table", "validityPeriod": "PT1H"])
        #expect(type.status == .badRequest && type.text.contains("sasType"))
        _ = try await h.admin(.delete, "/storage/acct1?api-version=7.0")
        let recoverable = try await h.admin(
            .put, "/storage/acct1?api-version=7.0", json: ["resourceId": Self.resourceId, "activeKeyName": "key1", "autoRegenerateKey": false])
        #expect(recoverable.status == .conflict && recoverable.innerCode == "ObjectIsDeletedButRecoverable")
        #expect(try await h.admin(.post, "/deletedstorage/acct1/recover?api-version=7.0").status == .ok)
        let wrongMethod = try await h.admin(.post, "/storage/acct1/sas?api-version=7.0")
        #expect(wrongMethod.status == .badRequest)
    }

    @Test func backupAndRestoreGoThroughTheWire() async throws {
        let h = try await Self.harness()
        _ = try await h.admin(
            .put, "/storage/acct1?api-version=7.0", json: ["resourceId": Self.resourceId, "activeKeyName": "key2", "autoRegenerateKey": false])
        let backup = try await h.admin(.post, "/storage/acct1/backup?api-version=7.0")
        let blob = try #require(backup.json["value"] as? String)
        _ = try await h.admin(.delete, "/storage/acct1?api-version=7.0")
        _ = try await h.admin(.delete, "/deletedstorage/acct1?api-version=7.0")
        let restored = try await h.admin(.post, "/storage/restore?api-version=7.0", json: ["value": blob])
        #expect(restored.status == .ok && restored.json["activeKeyName"] as? String == "key2")
        let regenerated = try await h.admin(.post, "/storage/acct1/regeneratekey?api-version=7.0", json: ["keyName": "key1"])
        #expect(regenerated.json["activeKeyName"] as? String == "key1")
    }

    /// Each of the 20 storage operations: its request, the access-policy permission and the RBAC data action it needs.
    static var operations: [(method: HTTPRequest.Method, path: String, body: [String: Any]?, permission: String, dataAction: String)] {
        [
            (.get, "/storage", nil, "list", "storageaccounts/read"),
            (.get, "/storage/acct1", nil, "get", "storageaccounts/read"),
            (
                .put, "/storage/acct1", ["resourceId": resourceId, "activeKeyName": "key1", "autoRegenerateKey": false], "set",
                "storageaccounts/set/action"
            ),
            (.patch, "/storage/acct1", ["tags": ["a": "b"]], "update", "storageaccounts/set/action"),
            (.delete, "/storage/acct1", nil, "delete", "storageaccounts/delete"),
            (.post, "/storage/acct1/regeneratekey", ["keyName": "key2"], "regeneratekey", "storageaccounts/regeneratekey/action"),
            (.post, "/storage/acct1/backup", nil, "backup", "storageaccounts/backup/action"),
            (.post, "/storage/restore", ["value": "x"], "restore", "storageaccounts/restore/action"),
            (.get, "/deletedstorage", nil, "list", "storageaccounts/read"),
            (.get, "/deletedstorage/acct1", nil, "get", "storageaccounts/read"),
            (.delete, "/deletedstorage/acct1", nil, "purge", "storageaccounts/purge/action"),
            (.post, "/deletedstorage/acct1/recover", nil, "recover", "storageaccounts/recover/action"),
            (.get, "/storage/acct1/sas", nil, "listsas", "storageaccounts/sas/read"),
            (.get, "/storage/acct1/sas/d", nil, "getsas", "storageaccounts/sas/read"),
            (
                .put, "/storage/acct1/sas/d", ["templateUri": template, "sasType": "account", "validityPeriod": "PT1H"], "setsas",
                "storageaccounts/sas/set/action"
            ),
            (.patch, "/storage/acct1/sas/d", ["validityPeriod": "PT2H"], "setsas", "storageaccounts/sas/set/action"),
            (.delete, "/storage/acct1/sas/d", nil, "deletesas", "storageaccounts/sas/delete"),
            (.get, "/deletedstorage/acct1/sas", nil, "listsas", "storageaccounts/sas/read"),
            (.get, "/deletedstorage/acct1/sas/d", nil, "getsas", "storageaccounts/sas/read"),
            (.post, "/deletedstorage/acct1/sas/d/recover", nil, "recover", "storageaccounts/recover/action"),
        ]
    }

    static let permissions: Set<String> = [
        "get", "list", "delete", "set", "update", "regeneratekey", "getsas", "listsas", "deletesas", "setsas", "recover", "backup", "restore",
        "purge",
    ]

    /// A principal of the harness's server and its token for vaults.
    static func principal(_ h: Harness) async throws -> (objectId: String, token: String) {
        let (principal, secret) = try await h.server.services.principals.create(displayName: "storage-caller")
        let token = try await h.server.services.tokens.clientCredentials(
            tenant: h.server.state.identity.tenantId, clientId: principal.clientId, clientSecret: secret,
            scope: "https://vault.localhost:8443/.default")
        return (principal.objectId, token.accessToken)
    }

    @Test func eachOperationNeedsItsAccessPolicyPermission() async throws {
        let h = try await Self.harness()
        let caller = try await Self.principal(h)
        #expect(Set(Self.operations.map(\.permission)) == Self.permissions)
        #expect(Set(VaultOperation.storageOperations.map(\.permission)) == Self.permissions)
        for operation in Self.operations {
            func send(granting permissions: Set<String>) async throws -> Harness.Reply {
                _ = try await h.server.services.vaults.setPolicy(
                    AccessPolicy(tenantId: h.server.state.identity.tenantId, objectId: caller.objectId, permissions: [.storage: permissions]),
                    on: VaultName("default"))
                return try await h.send(operation.method, operation.path + "?api-version=7.0", token: caller.token, json: operation.body)
            }
            let refused = try await send(granting: Self.permissions.subtracting([operation.permission]))
            #expect(refused.status == .forbidden && refused.innerCode == "ForbiddenByPolicy", "\(operation.method) \(operation.path)")
            #expect(refused.text.contains("does not have storage \(operation.permission) permission"), "\(refused.text)")
            let admitted = try await send(granting: [operation.permission])
            #expect(!admitted.text.contains("does not have storage"), "\(operation.method) \(operation.path): \(admitted.text)")
        }
    }

    @Test func eachOperationNeedsItsDataAction() async throws {
        let h = try await Self.harness()
        let services = h.server.services
        _ = try await services.vaults.create(VaultName("rbacstore"), settings: .init(rbacAuthorization: true), owner: nil)
        let caller = try await Self.principal(h)
        #expect(Set(VaultOperation.storageOperations.map(\.dataAction)) == Set(Self.operations.map { "Microsoft.KeyVault/vaults/" + $0.dataAction }))
        func send(_ operation: (method: HTTPRequest.Method, path: String, body: [String: Any]?, permission: String, dataAction: String))
            async throws -> Harness.Reply
        {
            try await h.send(
                operation.method, operation.path + "?api-version=7.0", host: "rbacstore.vault.localhost:8443", token: caller.token,
                json: operation.body)
        }
        for operation in Self.operations {
            let refused = try await send(operation)
            #expect(refused.status == .forbidden && refused.innerCode == "ForbiddenByRbac", "\(operation.method) \(operation.path)")
            #expect(refused.text.contains("Action: 'Microsoft.KeyVault/vaults/\(operation.dataAction)'"), "\(refused.text)")
        }
        // Key Vault Reader reads (`*/read`), and nothing else.
        let reader = try await services.roleAssignments.create(
            role: try .named("Key Vault Reader"), principalId: caller.objectId, scope: RoleScope(vault: VaultName("rbacstore")))
        for operation in Self.operations {
            let reply = try await send(operation)
            let reads = operation.dataAction.hasSuffix("/read")
            #expect((reply.innerCode == "ForbiddenByRbac") == !reads, "\(operation.method) \(operation.path): \(reply.text)")
        }
        _ = try await services.roleAssignments.delete(id: reader.id, in: VaultName("rbacstore"))
        _ = try await services.roleAssignments.create(
            role: try .named("Key Vault Administrator"), principalId: caller.objectId, scope: RoleScope(vault: VaultName("rbacstore")))
        for operation in Self.operations {
            #expect(try await send(operation).innerCode != "ForbiddenByRbac", "\(operation.method) \(operation.path)")
        }
    }
}
