import CoffreCore
import CoffreModel
import Hummingbird

/// The storage API (`/storage`, `/deletedstorage`): storage accounts managed by the vault and their SAS definitions.
struct StorageRoutes: Sendable {
    let storage: ManagedStorageService

    var routes: [DataPlaneRoute] {
        [
            Route(.get, "storage", .storageAccountList, list),
            Route(.post, "storage/restore", .storageAccountRestore, restore),
            Route(.put, "storage/{account}", .storageAccountSet, set),
            Route(.get, "storage/{account}", .storageAccountGet, get),
            Route(.patch, "storage/{account}", .storageAccountUpdate, update),
            Route(.delete, "storage/{account}", .storageAccountDelete, delete),
            Route(.post, "storage/{account}/regeneratekey", .storageAccountRegenerateKey, regenerateKey),
            Route(.post, "storage/{account}/backup", .storageAccountBackup, backup),
            Route(.get, "storage/{account}/sas", .sasDefinitionList, listDefinitions),
            Route(.put, "storage/{account}/sas/{definition}", .sasDefinitionSet, setDefinition),
            Route(.get, "storage/{account}/sas/{definition}", .sasDefinitionGet, getDefinition),
            Route(.patch, "storage/{account}/sas/{definition}", .sasDefinitionUpdate, updateDefinition),
            Route(.delete, "storage/{account}/sas/{definition}", .sasDefinitionDelete, deleteDefinition),
            Route(.get, "deletedstorage", .storageAccountListDeleted, listDeleted),
            Route(.get, "deletedstorage/{account}", .storageAccountGetDeleted, getDeleted),
            Route(.delete, "deletedstorage/{account}", .storageAccountPurge, purge),
            Route(.post, "deletedstorage/{account}/recover", .storageAccountRecover, recover),
            Route(.get, "deletedstorage/{account}/sas", .sasDefinitionListDeleted, listDeletedDefinitions),
            Route(.get, "deletedstorage/{account}/sas/{definition}", .sasDefinitionGetDeleted, getDeletedDefinition),
            Route(.post, "deletedstorage/{account}/sas/{definition}/recover", .sasDefinitionRecover, recoverDefinition),
        ]
    }

    // MARK: Storage accounts

    func set(_ request: DataPlaneRequest) async throws -> Response {
        let parameters = try request.decode(StorageAccountParameters.self)
        guard let resourceId = parameters.resourceId, parameters.autoRegenerateKey != nil else {
            throw CoffreError.badParameter("A storage account needs a resourceId, an activeKeyName and autoRegenerateKey.")
        }
        return try account(
            try await storage.set(
                in: request.vault.name, name: request.parameter("account"), resourceId: resourceId, properties: parameters.properties,
                by: try caller(request)), request)
    }

    func get(_ request: DataPlaneRequest) async throws -> Response {
        try account(try await storage.get(in: request.vault.name, name: request.parameter("account")), request)
    }

    func update(_ request: DataPlaneRequest) async throws -> Response {
        let properties = try request.decode(StorageAccountParameters.self).properties
        return try account(try await storage.update(in: request.vault.name, name: request.parameter("account"), properties: properties), request)
    }

    func delete(_ request: DataPlaneRequest) async throws -> Response {
        try account(try await storage.delete(in: request.vault, name: request.parameter("account")), request)
    }

    func regenerateKey(_ request: DataPlaneRequest) async throws -> Response {
        let keyName = try request.decode(StorageAccountRegenerateKeyParameters.self).keyName
        return try account(
            try await storage.regenerateKey(in: request.vault.name, name: request.parameter("account"), keyName: keyName, by: try caller(request)),
            request)
    }

    func backup(_ request: DataPlaneRequest) async throws -> Response {
        try JSON.response(BackupResult(value: try await storage.backup(in: request.vault.name, name: request.parameter("account"))))
    }

    func restore(_ request: DataPlaneRequest) async throws -> Response {
        let blob = try request.decode(RestoreParameters.self).value
        return try account(try await storage.restore(in: request.vault.name, blob: blob, by: try caller(request)), request)
    }

    func getDeleted(_ request: DataPlaneRequest) async throws -> Response {
        try account(try await storage.deleted(in: request.vault.name, name: request.parameter("account")), request)
    }

    func recover(_ request: DataPlaneRequest) async throws -> Response {
        try account(try await storage.recover(in: request.vault.name, name: request.parameter("account")), request)
    }

    func purge(_ request: DataPlaneRequest) async throws -> Response {
        try await storage.purge(in: request.vault, name: request.parameter("account"))
        return Response(status: .noContent)
    }

    // MARK: SAS definitions

    func setDefinition(_ request: DataPlaneRequest) async throws -> Response {
        let properties = try request.decode(SASDefinitionParameters.self).properties
        return try definition(
            try await storage.setDefinition(
                in: request.vault.name, account: request.parameter("account"), name: request.parameter("definition"), properties: properties), request
        )
    }

    func getDefinition(_ request: DataPlaneRequest) async throws -> Response {
        try definition(
            try await storage.getDefinition(in: request.vault.name, account: request.parameter("account"), name: request.parameter("definition")),
            request)
    }

    func updateDefinition(_ request: DataPlaneRequest) async throws -> Response {
        let properties = try request.decode(SASDefinitionParameters.self).properties
        return try definition(
            try await storage.updateDefinition(
                in: request.vault.name, account: request.parameter("account"), name: request.parameter("definition"), properties: properties), request
        )
    }

    func deleteDefinition(_ request: DataPlaneRequest) async throws -> Response {
        try definition(
            try await storage.deleteDefinition(in: request.vault, account: request.parameter("account"), name: request.parameter("definition")),
            request)
    }

    func getDeletedDefinition(_ request: DataPlaneRequest) async throws -> Response {
        try definition(
            try await storage.deletedDefinition(in: request.vault.name, account: request.parameter("account"), name: request.parameter("definition")),
            request)
    }

    func recoverDefinition(_ request: DataPlaneRequest) async throws -> Response {
        try definition(
            try await storage.recoverDefinition(in: request.vault.name, account: request.parameter("account"), name: request.parameter("definition")),
            request)
    }

    // MARK: Lists

    func list(_ request: DataPlaneRequest) async throws -> Response { try await accounts(request, deleted: false) }
    func listDeleted(_ request: DataPlaneRequest) async throws -> Response { try await accounts(request, deleted: true) }
    func listDefinitions(_ request: DataPlaneRequest) async throws -> Response { try await definitions(request, deleted: false) }
    func listDeletedDefinitions(_ request: DataPlaneRequest) async throws -> Response { try await definitions(request, deleted: true) }

    /// A page of the vault's live or deleted storage accounts, as items.
    private func accounts(_ request: DataPlaneRequest, deleted: Bool) async throws -> Response {
        let (limit, cursor) = try request.paging()
        let vault = request.vault.name
        let page =
            deleted
            ? try await storage.listDeleted(in: vault, after: cursor, limit: limit) : try await storage.list(in: vault, after: cursor, limit: limit)
        return try request.page(
            page.items.map { StorageBundle($0, vault: request.vault, url: request.url, asItem: true) }, next: page.next,
            path: deleted ? "deletedstorage" : "storage", limit: limit)
    }

    /// A page of an account's live or deleted SAS definitions, as items.
    private func definitions(_ request: DataPlaneRequest, deleted: Bool) async throws -> Response {
        let (limit, cursor) = try request.paging()
        let (vault, account) = (request.vault.name, request.parameter("account"))
        let page =
            deleted
            ? try await storage.listDeletedDefinitions(in: vault, account: account, after: cursor, limit: limit)
            : try await storage.listDefinitions(in: vault, account: account, after: cursor, limit: limit)
        return try request.page(
            page.items.map { SASDefinitionBundle($0, vault: request.vault, url: request.url, asItem: true) }, next: page.next,
            path: "\(deleted ? "deletedstorage" : "storage")/\(account)/sas", limit: limit)
    }

    // MARK: Helpers

    private func account(_ account: ManagedStorageAccount, _ request: DataPlaneRequest) throws -> Response {
        try JSON.response(StorageBundle(account, vault: request.vault, url: request.url))
    }

    private func definition(_ definition: SASDefinition, _ request: DataPlaneRequest) throws -> Response {
        try JSON.response(SASDefinitionBundle(definition, vault: request.vault, url: request.url))
    }

    /// The data plane's admission established the caller.
    private func caller(_ request: DataPlaneRequest) throws -> Caller {
        guard let caller = request.caller else { throw CoffreError.unauthorized("AKV10000: Request is missing a Bearer or PoP token.") }
        return caller
    }
}
