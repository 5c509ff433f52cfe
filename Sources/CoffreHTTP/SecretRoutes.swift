import CoffreCore
import CoffreModel
import Hummingbird

/// The Secrets API (`/secrets`, `/deletedsecrets`).
struct SecretRoutes: Sendable {
    let secrets: SecretService

    var routes: [DataPlaneRoute] {
        [
            Route(.get, "secrets", .secretList, list),
            Route(.post, "secrets/restore", .secretRestore, restore),
            Route(.put, "secrets/{name}", .secretSet, set),
            Route(.delete, "secrets/{name}", .secretDelete, delete),
            Route(.get, "secrets/{name}/versions", .secretListVersions, versions),
            Route(.post, "secrets/{name}/backup", .secretBackup, backup),
            Route(.get, "secrets/{name}/{version?}", .secretGet, get),
            Route(.get, "secrets/{name}", .secretGet, get),
            Route(.patch, "secrets/{name}/{version?}", .secretUpdate, update),
            Route(.patch, "secrets/{name}", .secretUpdate, update),
            Route(.get, "deletedsecrets", .secretListDeleted, listDeleted),
            Route(.get, "deletedsecrets/{name}", .secretGetDeleted, getDeleted),
            Route(.delete, "deletedsecrets/{name}", .secretPurge, purge),
            Route(.post, "deletedsecrets/{name}/recover", .secretRecover, recover),
        ]
    }

    func set(_ request: DataPlaneRequest) async throws -> Response {
        let parameters = try request.decode(SecretSetParameters.self)
        guard let value = parameters.value else {
            throw CoffreError.badParameter("The request body is missing 'value': a secret needs a value.")
        }
        let properties = SecretService.Properties(
            contentType: parameters.contentType, attributes: parameters.attributes?.changes ?? .init(), tags: parameters.tags)
        let secret = try await secrets.set(in: request.vault.name, name: request.parameter("name"), value: value, properties: properties)
        return try bundle(secret, request, includeValue: true)
    }

    func get(_ request: DataPlaneRequest) async throws -> Response {
        let secret = try await secrets.get(
            in: request.vault.name, name: request.parameter("name"), version: request.parameters["version"],
            outContentType: request.query["outContentType"])
        return try bundle(secret, request, includeValue: true)
    }

    func update(_ request: DataPlaneRequest) async throws -> Response {
        let parameters = try request.decode(SecretUpdateParameters.self)
        let properties = SecretService.Properties(
            contentType: parameters.contentType.map { .some($0) }, attributes: parameters.attributes?.changes ?? .init(),
            tags: parameters.tags.map { .some($0) })
        let secret = try await secrets.update(
            in: request.vault.name, name: request.parameter("name"), version: request.parameters["version"], properties: properties)
        return try bundle(secret, request, includeValue: false)
    }

    func list(_ request: DataPlaneRequest) async throws -> Response {
        let (limit, cursor) = try request.paging()
        let page = try await secrets.list(in: request.vault.name, after: cursor, limit: limit)
        return try request.page(
            page.items.map { SecretItem(head: $0, vault: request.vault, url: request.url) }, next: page.next, path: "secrets", limit: limit)
    }

    func versions(_ request: DataPlaneRequest) async throws -> Response {
        let (limit, cursor) = try request.paging()
        let name = request.parameter("name")
        let page = try await secrets.versions(in: request.vault.name, name: name, after: cursor, limit: limit)
        return try request.page(
            page.items.map { SecretItem(version: $0, vault: request.vault, url: request.url) }, next: page.next,
            path: "secrets/\(name)/versions", limit: limit)
    }

    func delete(_ request: DataPlaneRequest) async throws -> Response {
        try bundle(try await secrets.delete(in: request.vault, name: request.parameter("name")), request, includeValue: false)
    }

    func getDeleted(_ request: DataPlaneRequest) async throws -> Response {
        try bundle(try await secrets.deleted(in: request.vault.name, name: request.parameter("name")), request, includeValue: false)
    }

    func listDeleted(_ request: DataPlaneRequest) async throws -> Response {
        let (limit, cursor) = try request.paging()
        let page = try await secrets.listDeleted(in: request.vault.name, after: cursor, limit: limit)
        return try request.page(
            page.items.map { SecretItem(head: $0, vault: request.vault, url: request.url) }, next: page.next, path: "deletedsecrets",
            limit: limit)
    }

    func recover(_ request: DataPlaneRequest) async throws -> Response {
        try bundle(try await secrets.recover(in: request.vault.name, name: request.parameter("name")), request, includeValue: false)
    }

    func purge(_ request: DataPlaneRequest) async throws -> Response {
        try await secrets.purge(in: request.vault, name: request.parameter("name"))
        return Response(status: .noContent)
    }

    func backup(_ request: DataPlaneRequest) async throws -> Response {
        try JSON.response(BackupResult(value: try await secrets.backup(in: request.vault.name, name: request.parameter("name"))))
    }

    func restore(_ request: DataPlaneRequest) async throws -> Response {
        let blob = try request.decode(RestoreParameters.self).value
        return try bundle(try await secrets.restore(in: request.vault.name, blob: blob), request, includeValue: false)
    }

    private func bundle(_ secret: Versioned<SecretVersion>, _ request: DataPlaneRequest, includeValue: Bool) throws -> Response {
        try JSON.response(SecretBundle(secret, vault: request.vault, url: request.url, includeValue: includeValue))
    }
}
