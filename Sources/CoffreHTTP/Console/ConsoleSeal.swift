import CoffreCore
import CoffreCrypto
import CoffreModel
import Foundation
import HTTPTypes
import Hummingbird
import Synchronization

/// The console's seal status page (`/seal` on the server's own host), served sealed or not: whether the server is
/// sealed, and while it waits for key shares a form to give one (what `coffre operator unseal` sends to
/// `/coffre/v1/unseal`).
///
/// Like the API's seal endpoints (and HashiCorp Vault's), it needs no sign-in: while sealed there is no directory to
/// sign in against, and a key share is itself the credential. The share travels in a POST body only (never a URL or a
/// log), the form carries a double-submit CSRF token, and the page has the console's headers (CSP, no framing, no-store).
extension SealEndpoints {
    var pages: RouteGroup<OperationName, Void> {
        RouteGroup(
            hosts: [.server],
            policy: RoutePolicy(
                authentication: NoAuthentication(), requiresApiVersion: false, maxBodySize: 16 * 1024, errors: HTMLErrors(), auditor: nil),
            routes: [
                Route(.get, "seal", "ConsoleSealStatus") { [self] _ in sealPage(message: nil, status: .ok) },
                Route(.post, "seal", "Unseal", unsealForm),
            ],
            admit: { _, _ in })
    }

    /// While sealed, the console's home is the seal status.
    static let sealedConsole = RouteGroup<OperationName, Void>(
        hosts: [.server], policy: .open(errors: HTMLErrors()),
        routes: [
            Route(.get, "", "ConsoleSealStatus") { _ in Response(status: .seeOther, headers: [.location: "/seal", .cacheControl: "no-store"]) }
        ],
        admit: { _, _ in })

    func sealPage(message: String?, status: HTTPResponse.Status) -> Response {
        let seal = self.status
        var page = HTMLPage(title: "Seal status")
        page.wide = true
        page.navigation(ConsolePages.sections, separator: " · ")
        page.heading("Seal status")
        page.table(
            headers: ["State", "Unseal", "Key shares needed", "Given"],
            rows: [
                [
                    seal.sealed ? .marked("Sealed", class: "error") : .text("Unsealed"), .text(seal.type),
                    .text(seal.threshold.map(String.init) ?? "—"), .text(seal.threshold == nil ? "—" : String(seal.progress)),
                ]
            ])
        if let message { page.paragraph(message, class: "error") }
        guard seal.sealed else {
            page.paragraph("Coffre is unsealed: its vaults answer.")
            return page.response(status: status)
        }
        guard seal.threshold != nil, unsealer.withLock({ $0 }) != nil else {
            page.paragraph("This server unseals itself (key file or auto-unseal) once it can read its root key: there is nothing to enter.")
            return page.response(status: status)
        }
        let (csrf, cookie) = SignInPages.csrfBeforeSignIn()
        page.paragraph("Give key shares (as printed by coffre operator init) one at a time until enough are in.")
        page.form(
            action: "/seal", csrf: csrf, hidden: [:], fields: [.init(label: "Key share", name: "share", type: "password", autocomplete: "off")],
            buttons: [("Unseal", "unseal")])
        var response = page.response(status: status)
        response.headers.append(cookie)
        return response
    }

    /// One key share from the form; back to the status (or the reason the share was refused).
    @Sendable func unsealForm(_ request: RouteRequest<Void>) async throws -> Response {
        let form = try SignInPages.checkedFormBeforeSignIn(request)
        guard let unsealer = unsealer.withLock({ $0 }), self.status.sealed else {
            return Response(status: .seeOther, headers: [.location: "/seal", .cacheControl: "no-store"])
        }
        guard let share = Base64.decode((form["share"] ?? "").trimmingCharacters(in: .whitespaces)) else {
            return sealPage(message: "That key share is not base64.", status: .badRequest)
        }
        do {
            _ = try await unsealer.submit(share: share)
        } catch let error as CoffreError {
            return sealPage(message: ErrorResponse.from(error).message, status: .badRequest)
        }
        return Response(status: .seeOther, headers: [.location: "/seal", .cacheControl: "no-store"])
    }
}
