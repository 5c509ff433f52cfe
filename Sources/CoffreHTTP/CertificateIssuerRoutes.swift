import CoffreCore
import CoffreModel
import Hummingbird

/// A vault's certificate contacts (`/certificates/contacts`) and issuers (`/certificates/issuers`).
struct CertificateIssuerRoutes: Sendable {
    let issuers: CertificateIssuers
    let contacts: CertificateContacts

    var routes: [DataPlaneRoute] {
        [
            Route(.get, "certificates/contacts", .certificateContactsGet, getContacts),
            Route(.put, "certificates/contacts", .certificateContactsSet, setContacts),
            Route(.delete, "certificates/contacts", .certificateContactsDelete, deleteContacts),
            Route(.get, "certificates/issuers", .certificateIssuerList, listIssuers),
            Route(.get, "certificates/issuers/{issuer}", .certificateIssuerGet, getIssuer),
            Route(.put, "certificates/issuers/{issuer}", .certificateIssuerSet) { try await setIssuer($0, replace: true) },
            Route(.patch, "certificates/issuers/{issuer}", .certificateIssuerUpdate) { try await setIssuer($0, replace: false) },
            Route(.delete, "certificates/issuers/{issuer}", .certificateIssuerDelete, deleteIssuer),
        ]
    }

    func getContacts(_ request: DataPlaneRequest) async throws -> Response {
        try contactsResponse(try await contacts.get(in: request.vault.name), request)
    }

    func setContacts(_ request: DataPlaneRequest) async throws -> Response {
        let contacts = try request.decode(WireContacts.self).contacts ?? []
        return try contactsResponse(try await self.contacts.set(contacts, in: request.vault.name), request)
    }

    func deleteContacts(_ request: DataPlaneRequest) async throws -> Response {
        try contactsResponse(try await contacts.delete(in: request.vault.name), request)
    }

    private func contactsResponse(_ contacts: [CertificateContact], _ request: DataPlaneRequest) throws -> Response {
        try JSON.response(WireContacts(id: request.url.base + "/certificates/contacts", contacts: contacts))
    }

    func listIssuers(_ request: DataPlaneRequest) async throws -> Response {
        let (limit, cursor) = try request.paging()
        let page = try await issuers.list(in: request.vault.name, after: cursor, limit: limit)
        return try request.page(
            page.items.map { IssuerItem(id: request.url.base + "/certificates/issuers/" + $0.name, provider: $0.provider) }, next: page.next,
            path: "certificates/issuers", limit: limit)
    }

    func getIssuer(_ request: DataPlaneRequest) async throws -> Response {
        try JSON.response(WireIssuer(try await issuers.get(in: request.vault.name, name: request.parameter("issuer")), url: request.url))
    }

    func setIssuer(_ request: DataPlaneRequest, replace: Bool) async throws -> Response {
        let wire = try request.decode(WireIssuer.self)
        if replace, wire.provider == nil { throw CoffreError.badParameter("The request body is missing 'provider'.") }
        let issuer = try await issuers.set(in: request.vault.name, name: request.parameter("issuer"), replace: replace) {
            wire.apply(to: &$0)
        }
        return try JSON.response(WireIssuer(issuer, url: request.url))
    }

    func deleteIssuer(_ request: DataPlaneRequest) async throws -> Response {
        try JSON.response(
            WireIssuer(try await issuers.delete(in: request.vault.name, name: request.parameter("issuer")), url: request.url))
    }
}
