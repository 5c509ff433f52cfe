import CoffreCore
import CoffreModel
import Hummingbird

/// A certificate's operation (`/certificates/{name}/pending`): read, cancel, delete, and merge the chain signed for an
/// `Unknown` issuer.
struct CertificateOperationRoutes: Sendable {
    let certificates: CertificateService

    var routes: [DataPlaneRoute] {
        [
            Route(.get, "certificates/{name}/pending", .certificatePendingGet, pending),
            Route(.patch, "certificates/{name}/pending", .certificatePendingUpdate, updatePending),
            Route(.delete, "certificates/{name}/pending", .certificatePendingDelete, deletePending),
            Route(.post, "certificates/{name}/pending/merge", .certificatePendingMerge, merge),
        ]
    }

    func pending(_ request: DataPlaneRequest) async throws -> Response {
        let name = request.parameter("name")
        let pending = try await certificates.operations.get(in: request.vault.name, name: name, requestId: request.query["request_id"])
        return try JSON.response(CertificateOperationBody(pending, name: name, url: request.url))
    }

    func updatePending(_ request: DataPlaneRequest) async throws -> Response {
        guard try request.decode(CertificateOperationUpdate.self).cancellation_requested == true else {
            throw CoffreError.badParameter("Only cancellation_requested: true can change a certificate operation.")
        }
        let name = request.parameter("name")
        return try JSON.response(
            CertificateOperationBody(try await certificates.operations.cancel(in: request.vault.name, name: name), name: name, url: request.url))
    }

    func deletePending(_ request: DataPlaneRequest) async throws -> Response {
        let name = request.parameter("name")
        let pending = try await certificates.operations.delete(in: request.vault.name, name: name)
        return try JSON.response(CertificateOperationBody(pending, name: name, url: request.url))
    }

    func merge(_ request: DataPlaneRequest) async throws -> Response {
        let parameters = try request.decode(CertificateMergeParameters.self)
        guard let x5c = parameters.x5c, !x5c.isEmpty else { throw CoffreError.badParameter("The request body is missing 'x5c': the signed chain.") }
        let name = request.parameter("name")
        let merged = try await certificates.merge(
            in: request.vault.name, name: name, x5c: x5c, properties: .init(enabled: parameters.attributes?.enabled, tags: parameters.tags))
        return try JSON.response(
            CertificateBundle(merged.certificate, policy: merged.policy, vault: request.vault, url: request.url), status: .created)
    }
}
