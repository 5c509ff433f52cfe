import CoffreCore
import CoffreModel
import Hummingbird

/// The Certificates API (`/certificates`, `/deletedcertificates`); operations, issuers and contacts have their own
/// route lists, which the data plane tries first.
struct CertificateRoutes: Sendable {
    let certificates: CertificateService

    var routes: [DataPlaneRoute] {
        [
            Route(.get, "certificates", .certificateList, list),
            Route(.post, "certificates/restore", .certificateRestore, restore),
            Route(.post, "certificates/{name}/create", .certificateCreate, create),
            Route(.post, "certificates/{name}/import", .certificateImport, importCertificate),
            Route(.get, "certificates/{name}/versions", .certificateListVersions, versions),
            Route(.post, "certificates/{name}/backup", .certificateBackup, backup),
            Route(.get, "certificates/{name}/policy", .certificatePolicyGet, policy),
            Route(.patch, "certificates/{name}/policy", .certificatePolicyUpdate, updatePolicy),
            Route(.delete, "certificates/{name}", .certificateDelete, delete),
            Route(.get, "certificates/{name}/{version?}", .certificateGet, get),
            Route(.get, "certificates/{name}", .certificateGet, get),
            Route(.patch, "certificates/{name}/{version?}", .certificateUpdate, update),
            Route(.patch, "certificates/{name}", .certificateUpdate, update),
            Route(.get, "deletedcertificates", .certificateListDeleted, listDeleted),
            Route(.get, "deletedcertificates/{name}", .certificateGetDeleted, getDeleted),
            Route(.delete, "deletedcertificates/{name}", .certificatePurge, purge),
            Route(.post, "deletedcertificates/{name}/recover", .certificateRecover, recover),
        ]
    }

    // MARK: - Certificates

    func create(_ request: DataPlaneRequest) async throws -> Response {
        let parameters = try request.decode(CertificateCreateParameters.self)
        let name = request.parameter("name")
        let pending = try await certificates.create(
            in: request.vault.name, name: name, policy: parameters.policy?.model ?? CertificatePolicy(),
            properties: .init(enabled: parameters.attributes?.enabled, tags: parameters.tags, preserveCertOrder: parameters.preserveCertOrder))
        // The 202 always reports "inProgress", even when issuance already completed or failed: the SDK pollers then
        // fetch the operation once (and the certificate); a finished 202 makes Python's `result()` return nothing.
        let body = CertificateOperationBody(pending, name: name, url: request.url, reportedStatus: .inProgress)
        return try JSON.response(
            body, status: .accepted,
            headers: [
                .location: request.url.object(.certificate, name) + "/pending?api-version=\(request.apiVersion)&request_id=\(pending.requestId)"
            ])
    }

    func importCertificate(_ request: DataPlaneRequest) async throws -> Response {
        let parameters = try request.decode(CertificateImportParameters.self)
        guard let value = parameters.value else { throw CoffreError.badParameter("The request body is missing 'value': the PFX or PEM.") }
        let imported = try await certificates.importCertificate(
            in: request.vault.name, name: request.parameter("name"), value: value, password: parameters.pwd, policy: parameters.policy?.model,
            properties: .init(enabled: parameters.attributes?.enabled, tags: parameters.tags, preserveCertOrder: parameters.preserveCertOrder))
        return try bundle(imported.certificate, policy: imported.policy, request)
    }

    func get(_ request: DataPlaneRequest) async throws -> Response {
        let (certificate, policy) = try await certificates.get(
            in: request.vault.name, name: request.parameter("name"), version: request.parameters["version"])
        return try bundle(certificate, policy: policy, request)
    }

    func update(_ request: DataPlaneRequest) async throws -> Response {
        let parameters = try request.decode(CertificateUpdateParameters.self)
        let (certificate, policy) = try await certificates.update(
            in: request.vault.name, name: request.parameter("name"), version: request.parameters["version"],
            enabled: parameters.attributes?.enabled, tags: parameters.tags, policy: parameters.policy?.model)
        return try bundle(certificate, policy: policy, request)
    }

    func list(_ request: DataPlaneRequest) async throws -> Response {
        let (limit, cursor) = try request.paging()
        let includePending = request.query["includePending"]?.lowercased() == "true"
        let page = try await certificates.list(in: request.vault.name, includePending: includePending, after: cursor, limit: limit)
        let items = page.items.map { listed -> CertificateItem in
            switch listed {
            case .certificate(let head): CertificateItem(head: head, vault: request.vault, url: request.url)
            case .pendingOnly(let name): CertificateItem(pendingName: name, url: request.url)
            }
        }
        return try request.page(items, next: page.next, path: "certificates", limit: limit)
    }

    func versions(_ request: DataPlaneRequest) async throws -> Response {
        let (limit, cursor) = try request.paging()
        let name = request.parameter("name")
        let page = try await certificates.versions(in: request.vault.name, name: name, after: cursor, limit: limit)
        return try request.page(
            page.items.map { CertificateItem(version: $0, vault: request.vault, url: request.url) }, next: page.next,
            path: "certificates/\(name)/versions", limit: limit)
    }

    func policy(_ request: DataPlaneRequest) async throws -> Response {
        let name = request.parameter("name")
        let policy = try await certificates.policy(in: request.vault.name, name: name)
        return try JSON.response(WirePolicy(policy, id: request.url.object(.certificate, name) + "/policy"))
    }

    func updatePolicy(_ request: DataPlaneRequest) async throws -> Response {
        let name = request.parameter("name")
        let policy = try await certificates.updatePolicy(in: request.vault.name, name: name, changes: try request.decode(WirePolicy.self).model)
        return try JSON.response(WirePolicy(policy, id: request.url.object(.certificate, name) + "/policy"))
    }

    // MARK: - Delete, recover, purge, backup

    func delete(_ request: DataPlaneRequest) async throws -> Response {
        let (certificate, policy) = try await certificates.delete(in: request.vault, name: request.parameter("name"))
        return try bundle(certificate, policy: policy, request)
    }

    func getDeleted(_ request: DataPlaneRequest) async throws -> Response {
        let (certificate, policy) = try await certificates.deleted(in: request.vault.name, name: request.parameter("name"))
        return try bundle(certificate, policy: policy, request)
    }

    func listDeleted(_ request: DataPlaneRequest) async throws -> Response {
        let (limit, cursor) = try request.paging()
        let page = try await certificates.listDeleted(in: request.vault.name, after: cursor, limit: limit)
        return try request.page(
            page.items.map { CertificateItem(head: $0, vault: request.vault, url: request.url) }, next: page.next,
            path: "deletedcertificates", limit: limit)
    }

    func recover(_ request: DataPlaneRequest) async throws -> Response {
        let (certificate, policy) = try await certificates.recover(in: request.vault.name, name: request.parameter("name"))
        return try bundle(certificate, policy: policy, request)
    }

    func purge(_ request: DataPlaneRequest) async throws -> Response {
        try await certificates.purge(in: request.vault, name: request.parameter("name"))
        return Response(status: .noContent)
    }

    func backup(_ request: DataPlaneRequest) async throws -> Response {
        try JSON.response(BackupResult(value: try await certificates.backup(in: request.vault.name, name: request.parameter("name"))))
    }

    func restore(_ request: DataPlaneRequest) async throws -> Response {
        let (certificate, policy) = try await certificates.restore(in: request.vault.name, blob: try request.decode(RestoreParameters.self).value)
        return try bundle(certificate, policy: policy, request)
    }

    private func bundle(_ certificate: Versioned<CertificateVersion>, policy: CertificatePolicy?, _ request: DataPlaneRequest) throws -> Response {
        try JSON.response(CertificateBundle(certificate, policy: policy, vault: request.vault, url: request.url))
    }
}
