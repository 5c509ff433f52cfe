import CoffreBlob
import CoffreModel
import Hummingbird

/// The management API's storage accounts (`/coffre/v1/storage/accounts`): create, list, show, delete, and their two
/// keys (list, regenerate one), as `coffre storage account` drives them.
extension ManagementRoutes {
    struct StorageAccountView: Encodable {
        var name: String
        var blobEndpoint: String
        var created: Int64
    }

    /// One key as `az storage account keys list` shows it.
    struct StorageKeyView: Encodable {
        var keyName: String
        var value: String
        var permissions: String
        var created: Int64
    }

    struct CreateStorageAccount: Decodable {
        var name: String
    }

    struct RegenerateStorageKey: Decodable {
        var keyName: String
    }

    var storageAccountRoutes: [Route<OperationName, AdministratorScope>] {
        let accounts = services.blob.accounts
        return [
            Route(.get, "storage/accounts", "StorageAccountList") { _ in try JSON.response(try await accounts.list().map(view)) },
            Route(.post, "storage/accounts", "StorageAccountCreate") { request in
                let create = try request.decode(CreateStorageAccount.self)
                return try JSON.response(view(try await accounts.create(try StorageAccountName(create.name))), status: .created)
            },
            Route(.get, "storage/accounts/{account}", "StorageAccountGet") { try JSON.response(view(try await accounts.get(accountName($0)))) },
            Route(.delete, "storage/accounts/{account}", "StorageAccountDelete") { request in
                try await accounts.delete(accountName(request))
                return Response(status: .noContent)
            },
            Route(.get, "storage/accounts/{account}/keys", "StorageAccountListKeys") {
                try JSON.response(keys(try await accounts.get(accountName($0))))
            },
            Route(.post, "storage/accounts/{account}/keys/regenerate", "StorageAccountRegenerateKey") { request in
                let regenerate = try request.decode(RegenerateStorageKey.self)
                return try JSON.response(keys(try await accounts.regenerateKey(regenerate.keyName, of: accountName(request))))
            },
        ]
    }

    private func accountName(_ request: ManagementRequest) throws -> StorageAccountName { try StorageAccountName(request.parameter("account")) }

    private func view(_ account: StorageAccountRecord) -> StorageAccountView {
        StorageAccountView(name: account.name.value, blobEndpoint: addressing.blobURL(account.name.value), created: account.created)
    }

    private func keys(_ account: StorageAccountRecord) -> [StorageKeyView] {
        account.keys.map { StorageKeyView(keyName: $0.name, value: $0.value, permissions: "FULL", created: $0.created) }
    }
}
