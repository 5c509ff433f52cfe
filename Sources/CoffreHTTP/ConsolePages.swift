import CoffreAuth
import CoffreCore
import CoffreCrypto
import CoffreDirectory
import CoffreModel
import HTTPTypes
import Hummingbird

/// Who a console request is made by: their sign-in session (whose CSRF token the forms carry), the person, and the
/// caller the API's authorisation sees for them.
struct ConsolePerson: Sendable {
    let session: SignInSession
    let user: UserRecord
    let caller: Caller
}

typealias ConsoleRequest = RouteRequest<ConsolePerson?>

/// Coffre's web console, on the server's own host (`https://{authority}/`): server-rendered pages (no script, styles by
/// nonce, see ``HTMLPage``) for people signed in on ``SignInPages``' `/signin`.
///
/// Every view and action is authorised as the signed-in person by the API's own rule (``VaultAccess``, the same
/// operations), so the console shows no more than that person's token would get; a refusal shows the API's message,
/// which names the missing permission. Every request is audited like an API request: revealing a value is a
/// `SecretGet` record, creating a secret a `SecretSet` one. Changes are POST forms checked against the session's CSRF
/// token; values travel only in POST bodies and answers, never in a URL.
struct ConsolePages: Sendable {
    let services: CoffreServices
    let addressing: Addressing
    let access: VaultAccess

    /// Rows per table; a table with more links to the next page.
    static let pageSize = 25

    var group: RouteGroup<OperationName, ConsolePerson?> {
        RouteGroup(
            hosts: [.server],
            policy: RoutePolicy(
                authentication: NoAuthentication(), requiresApiVersion: false, maxBodySize: 64 * 1024, errors: HTMLErrors(),
                auditor: Auditor(sink: services.audit, metrics: services.metrics)),
            // One line per view (files Console/…): vaults, pools and deleted vaults; a vault's objects.
            routes: vaultRoutes
                + objectRoutes
                + accessRoutes
                + auditRoutes
                + metricsRoutes,
            admit: admit)
    }

    /// The person the session cookie names (nil: not signed in, or the session ended), noted as the audit's caller.
    @Sendable func admit(_ request: RouteRequest<Void>, _ match: RouteMatch<OperationName, ConsolePerson?>) async throws -> ConsolePerson? {
        guard let cookie = SignInPages.cookies(request.headers)[SignInPages.sessionCookie],
            let (session, user) = try await services.signIn.session(cookie: cookie)
        else { return nil }
        let caller = Caller(objectId: user.objectId, appId: nil, tenantId: services.tokens.tenantId, issuer: services.tokens.issuer)
        request.audit?.note { $0.caller = caller }
        return ConsolePerson(session: session, user: user, caller: caller)
    }

    /// A page for a signed-in person; anyone else is sent to sign in and come back (to the vaults after a form).
    func signedIn(_ page: @escaping @Sendable (ConsoleRequest, ConsolePerson) async throws -> Response)
        -> @Sendable (ConsoleRequest) async throws
        -> Response
    {
        { request in
            guard let person = request.scope else {
                let back = request.incoming.method == .get ? request.incoming.path : "/"
                return Response(
                    status: .seeOther,
                    headers: [.location: "/signin?return=" + PercentEncoding.encode(back, keepingSlash: false), .cacheControl: "no-store"])
            }
            do {
                return try await page(request, person)
            } catch {
                return try refused(error, person)
            }
        }
    }

    /// A refusal or a mistake (4xx) in the console's frame, with the API's message and status: a refusal names the
    /// permission or role action that is missing. Anything else is the error table's (5xx, logged).
    func refused(_ error: any Error, _ person: ConsolePerson) throws -> Response {
        let answer = ErrorResponse.from(error)
        guard (400..<500).contains(answer.status.code), answer.status != .unauthorized else { throw error }
        var page = frame(answer.status == .forbidden ? "Not allowed" : "Not done", person, trail: [])
        page.paragraph(answer.message, class: "error")
        return page.response(status: answer.status)
    }

    // MARK: - Authorisation, layout

    /// The vault and object name of the path, after authorising `operation` on them as the API would.
    func authorized(_ request: ConsoleRequest, _ person: ConsolePerson, _ operation: VaultOperation, version: String? = nil) async throws -> (
        VaultRecord, String
    ) {
        let vault = try await services.vaults.get(try VaultName(request.parameter("vault")))
        let name = request.parameter("name")
        try await authorize(request, person, operation, in: vault, name: name, version: version)
        return (vault, name)
    }

    /// `VaultAccess.authorize`, with the vault and object noted in the request's audit record as the data plane notes them.
    func authorize(
        _ request: ConsoleRequest, _ person: ConsolePerson, _ operation: VaultOperation, in vault: VaultRecord, name: String, version: String?
    )
        async throws
    {
        let url = VaultURL(base: addressing.vaultURL(vault.name))
        let objectId = operation.objectScope(named: name).map { url.object($0.kind, name, version: version) }
        request.audit?.note {
            $0.vault = vault.name
            $0.objectId = objectId ?? url.base
        }
        try await access.authorize(person.caller, operation, in: vault, objectName: name, noting: request.audit)
    }

    /// The console's sections, in every page's top navigation (one line each).
    static let sections: [(text: String, href: String)] = [
        ("Vaults", "/"),
        ("Managed HSM pools", "/pools"),
        ("Deleted vaults", "/deleted-vaults"),
        ("Audit log", "/audit"),
        ("Metrics", "/monitoring"),
        ("Seal status", "/seal"),
    ]

    /// A console page: its title, where it sits (vaults, then `trail`), who is signed in and the sign-out button.
    func frame(_ title: String, _ person: ConsolePerson, trail: [(String, String)]) -> HTMLPage {
        var page = HTMLPage(title: title)
        page.wide = true
        page.navigation(Self.sections, separator: " · ")
        if !trail.isEmpty { page.navigation([("Vaults", "/")] + trail.map { (text: $0.0, href: $0.1) }) }
        page.heading(title)
        page.paragraph("Signed in as \(person.user.userPrincipalName).")
        page.signOut(csrf: person.session.csrfToken)
        return page
    }

    static let attributeHeaders = ["Enabled", "Not before", "Expires", "Created", "Updated", "Tags"]

    /// The attribute columns; an expiry in the past (on the vault's clock, which time travel may move) is marked.
    func attributeCells(_ attributes: ObjectAttributes, tags: [String: String]?, in vault: VaultName) -> [HTMLPage.Cell] {
        let now = services.vaultClock.now(in: vault)
        let expires: HTMLPage.Cell =
            attributes.expires.map { $0 <= now ? .marked(Self.date($0) + " (expired)", class: "expired") : .text(Self.date($0)) } ?? .text("")
        return [
            .text(attributes.enabled ? "yes" : "no"), .text(attributes.notBefore.map(Self.date) ?? ""), expires, .text(Self.date(attributes.created)),
            .text(Self.date(attributes.updated)),
            .text(Self.tagsText(tags)),
        ]
    }

    static func date(_ seconds: Int64) -> String {
        let time = CivilTime(seconds: seconds)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(time.year)-\(two(time.month))-\(two(time.day)) \(two(time.hour)):\(two(time.minute)) UTC"
    }

    /// A certificate's SHA-1 thumbprint (stored base64url, as `x5t`) in upper-case hex, as portals show it.
    static func thumbprint(_ x5t: String) -> String {
        Base64.decode(x5t).map { Hex.encode($0).uppercased() } ?? x5t
    }
}
