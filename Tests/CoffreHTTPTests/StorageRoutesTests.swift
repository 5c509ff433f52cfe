import CoffreBlob
import CoffreCore
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
}
