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
            routes: [
                Route(.get, "", "ConsoleVaults", signedIn(vaults)),
                Route(.get, "vaults/{vault}", "ConsoleVault", signedIn(vault)),
                Route(.post, "vaults/{vault}/secrets", "SecretSet", signedIn(createSecret)),
                Route(.get, "vaults/{vault}/secrets/{name}", "ConsoleSecret", signedIn(secret)),
                Route(.post, "vaults/{vault}/secrets/{name}/reveal", "SecretGet", signedIn(reveal)),
                Route(.get, "vaults/{vault}/keys/{name}", "ConsoleKey", signedIn(key)),
                Route(.get, "vaults/{vault}/certificates/{name}", "ConsoleCertificate", signedIn(certificate)),
            ],
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
            } catch CoffreError.forbidden(_, let message) {
                var page = frame("Not allowed", person, trail: [])
                page.paragraph(message, class: "error")
                return page.response(status: .forbidden)
            }
        }
    }

    // MARK: - Vaults

    /// The vaults in which the person may list secrets, keys or certificates.
    func vaults(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        var rows: [[HTMLPage.Cell]] = []
        for vault in try await services.vaults.list() {
            var allowed = false
            for operation in [VaultOperation.secretList, .keyList, .certificateList] where !allowed {
                allowed = (try? await access.authorize(person.caller, operation, in: vault, objectName: nil)) != nil
            }
            guard allowed else { continue }
            rows.append([
                .link("\(vault.name)", href: "/vaults/\(vault.name)"), .text(vault.rbacAuthorization ? "Role assignments" : "Access policies"),
                .text(addressing.vaultURL(vault.name)),
            ])
        }
        var page = frame("Vaults", person, trail: [])
        if rows.isEmpty {
            page.paragraph("You may not list the objects of any vault. Ask an administrator for an access policy or a role assignment.")
        } else {
            page.table(headers: ["Vault", "Authorisation", "URL"], rows: rows)
        }
        return page.response(status: .ok)
    }

    /// A vault's secrets, keys and certificates (each list shown only if the person may list it), and a form to add a secret.
    func vault(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let vault = try await services.vaults.get(try VaultName(request.parameter("vault")))
        request.audit?.note { $0.vault = vault.name }
        let base = "/vaults/\(vault.name)"
        var page = frame("\(vault.name)", person, trail: [])
        page.subheading("Secrets")
        try await section(&page, vault, person, .secretList, after: request.query["secrets"], more: "secrets") { after in
            let listed = try await services.secrets.list(in: vault.name, after: after, limit: Self.pageSize)
            let rows: [[HTMLPage.Cell]] = listed.items.map { item in
                [.link(item.name, href: "\(base)/secrets/\(item.name)"), .text(item.summary.contentType ?? "")]
                    + attributeCells(item.summary.attributes, tags: item.summary.tags)
            }
            return (["Name", "Content type"] + Self.attributeHeaders, rows, listed.next)
        }
        page.subheading("Keys")
        try await section(&page, vault, person, .keyList, after: request.query["keys"], more: "keys") { after in
            let listed = try await services.keys.list(in: vault.name, after: after, limit: Self.pageSize)
            let rows: [[HTMLPage.Cell]] = listed.items.map { item in
                [.link(item.name, href: "\(base)/keys/\(item.name)"), .text(item.summary.keyType.rawValue)]
                    + attributeCells(item.summary.attributes, tags: item.summary.tags)
            }
            return (["Name", "Type"] + Self.attributeHeaders, rows, listed.next)
        }
        page.subheading("Certificates")
        try await section(&page, vault, person, .certificateList, after: request.query["certificates"], more: "certificates") { after in
            let listed = try await services.certificates.list(in: vault.name, includePending: false, after: after, limit: Self.pageSize)
            let rows: [[HTMLPage.Cell]] = listed.items.compactMap { listed in
                guard case .certificate(let item) = listed else { return nil }
                return [.link(item.name, href: "\(base)/certificates/\(item.name)"), .text(Self.thumbprint(item.summary.x5t))]
                    + attributeCells(item.summary.attributes, tags: item.summary.tags)
            }
            return (["Name", "Thumbprint (SHA-1)"] + Self.attributeHeaders, rows, listed.next)
        }
        page.subheading("New secret")
        page.form(
            action: "\(base)/secrets", csrf: person.session.csrfToken, hidden: [:],
            fields: [
                .init(label: "Name", name: "name", type: "text", autocomplete: "off"),
                .init(label: "Value", name: "value", type: "password", autocomplete: "off"),
                .init(label: "Content type (optional)", name: "contentType", type: "text", autocomplete: "off", required: false),
            ], buttons: [("Create", "create")])
        return page.response(status: .ok)
    }

    /// One list of a vault page: its table when the person may run `operation`, else the refusal, which names the
    /// missing permission. `more` is the query parameter that carries the next page's cursor.
    func section(
        _ page: inout HTMLPage, _ vault: VaultRecord, _ person: ConsolePerson, _ operation: VaultOperation, after: String?, more: String,
        rows: (String?) async throws -> (headers: [String], rows: [[HTMLPage.Cell]], next: String?)
    ) async throws {
        do {
            try await access.authorize(person.caller, operation, in: vault, objectName: nil)
        } catch CoffreError.forbidden(_, let message) {
            page.paragraph(message, class: "error")
            return
        }
        let table = try await rows(after.flatMap { $0.isEmpty ? nil : $0 })
        if table.rows.isEmpty { page.paragraph("None.") } else { page.table(headers: table.headers, rows: table.rows) }
        if let next = table.next {
            page.link("More", href: "/vaults/\(vault.name)?\(more)=" + PercentEncoding.encode(next, keepingSlash: false))
        }
    }

    // MARK: - Secrets

    /// A secret's versions with their attributes and tags, each with a button to reveal its value.
    func secret(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let (vault, name) = try await authorized(request, person, .secretListVersions)
        let versions = try await services.secrets.versions(in: vault.name, name: name, after: request.query["after"], limit: Self.pageSize)
        let action = "/vaults/\(vault.name)/secrets/\(name)/reveal"
        let rows: [[HTMLPage.Cell]] = versions.items.map { version in
            [.text(version.record.version), .text(version.record.contentType ?? "")]
                + attributeCells(version.record.attributes, tags: version.record.tags)
                + [.button("Reveal", action: action, csrf: person.session.csrfToken, hidden: ["version": version.record.version])]
        }
        var page = frame(name, person, trail: [("\(vault.name)", "/vaults/\(vault.name)")])
        page.subheading("Versions")
        page.table(headers: ["Version", "Content type"] + Self.attributeHeaders + [""], rows: rows)
        if let next = versions.next {
            page.link("More", href: "/vaults/\(vault.name)/secrets/\(name)?after=" + PercentEncoding.encode(next, keepingSlash: false))
        }
        return page.response(status: .ok)
    }

    /// A version's value, on a page of its own (POST: the value is in no URL, and the page is not cached).
    func reveal(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let form = try SignInPages.checkedForm(request, session: person.session)
        let version = form["version"].flatMap { $0.isEmpty ? nil : $0 }
        let (vault, name) = try await authorized(request, person, .secretGet, version: version)
        let secret = try await services.secrets.get(in: vault.name, name: name, version: version)
        var page = frame(name, person, trail: [("\(vault.name)", "/vaults/\(vault.name)"), (name, "/vaults/\(vault.name)/secrets/\(name)")])
        page.paragraph("Version \(secret.record.version). Revealing it was recorded in the audit log.")
        page.preformatted(secret.record.value, id: "secret-value")
        page.link("Hide", href: "/vaults/\(vault.name)/secrets/\(name)")
        return page.response(status: .ok)
    }

    /// Creates a secret (or its next version) from the vault page's form, then shows it.
    func createSecret(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let form = try SignInPages.checkedForm(request, session: person.session)
        let name = form["name"] ?? ""
        let vault = try await services.vaults.get(try VaultName(request.parameter("vault")))
        try await authorize(request, person, .secretSet, in: vault, name: name, version: nil)
        let contentType = form["contentType"].flatMap { $0.isEmpty ? nil : $0 }
        let created = try await services.secrets.set(
            in: vault.name, name: name, value: form["value"] ?? "", properties: .init(contentType: contentType, attributes: .init(), tags: nil))
        return Response(status: .seeOther, headers: [.location: "/vaults/\(vault.name)/secrets/\(created.name)", .cacheControl: "no-store"])
    }

    // MARK: - Keys and certificates

    /// A key's versions: type, permitted operations, attributes and tags (its public key and the rest: later).
    func key(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let (vault, name) = try await authorized(request, person, .keyListVersions)
        let versions = try await services.keys.versions(in: vault.name, name: name, after: request.query["after"], limit: Self.pageSize)
        let rows: [[HTMLPage.Cell]] = versions.items.map { version in
            [.text(version.record.version), .text(version.record.keyType.rawValue), .text(version.record.keyOps.joined(separator: ", "))]
                + attributeCells(version.record.attributes, tags: version.record.tags)
        }
        var page = frame(name, person, trail: [("\(vault.name)", "/vaults/\(vault.name)")])
        page.subheading("Versions")
        page.table(headers: ["Version", "Type", "Operations"] + Self.attributeHeaders, rows: rows)
        return page.response(status: .ok)
    }

    /// A certificate's versions: thumbprint, attributes and tags.
    func certificate(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let (vault, name) = try await authorized(request, person, .certificateListVersions)
        let versions = try await services.certificates.versions(in: vault.name, name: name, after: request.query["after"], limit: Self.pageSize)
        let rows: [[HTMLPage.Cell]] = versions.items.map { version in
            [.text(version.record.version), .text(Self.thumbprint(version.record.x5t))]
                + attributeCells(version.record.attributes, tags: version.record.tags)
        }
        var page = frame(name, person, trail: [("\(vault.name)", "/vaults/\(vault.name)")])
        page.subheading("Versions")
        page.table(headers: ["Version", "Thumbprint (SHA-1)"] + Self.attributeHeaders, rows: rows)
        return page.response(status: .ok)
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

    /// A console page: its title, where it sits (vaults, then `trail`), who is signed in and the sign-out button.
    func frame(_ title: String, _ person: ConsolePerson, trail: [(String, String)]) -> HTMLPage {
        var page = HTMLPage(title: title)
        page.wide = true
        page.navigation([("Vaults", "/")] + trail.map { (text: $0.0, href: $0.1) })
        page.heading(title)
        page.paragraph("Signed in as \(person.user.userPrincipalName).")
        page.signOut(csrf: person.session.csrfToken)
        return page
    }

    static let attributeHeaders = ["Enabled", "Not before", "Expires", "Created", "Updated", "Tags"]

    /// The attribute columns; an expiry in the past is marked.
    func attributeCells(_ attributes: ObjectAttributes, tags: [String: String]?) -> [HTMLPage.Cell] {
        let now = services.clock.now
        let expires: HTMLPage.Cell =
            attributes.expires.map { $0 <= now ? .marked(Self.date($0) + " (expired)", class: "expired") : .text(Self.date($0)) } ?? .text("")
        return [
            .text(attributes.enabled ? "yes" : "no"), .text(attributes.notBefore.map(Self.date) ?? ""), expires, .text(Self.date(attributes.created)),
            .text(Self.date(attributes.updated)),
            .text((tags ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")),
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
