import CoffreAuth
import CoffreCore
import CoffreCrypto
import CoffreModel
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationCompat

/// The API operations that authorise the console's views and actions on one kind of vault object.
struct ConsoleObjectOperations {
    let list, listVersions, readVersion, update, delete, listDeleted, recover, purge: VaultOperation
}

extension ObjectKind {
    var console: ConsoleObjectOperations {
        switch self {
        case .secret:
            // A secret version's page shows its attributes, never its value: listing permission, as the API's list.
            ConsoleObjectOperations(
                list: .secretList, listVersions: .secretListVersions, readVersion: .secretListVersions, update: .secretUpdate,
                delete: .secretDelete, listDeleted: .secretListDeleted, recover: .secretRecover, purge: .secretPurge)
        case .key:
            ConsoleObjectOperations(
                list: .keyList, listVersions: .keyListVersions, readVersion: .keyGet, update: .keyUpdate, delete: .keyDelete,
                listDeleted: .keyListDeleted, recover: .keyRecover, purge: .keyPurge)
        case .certificate:
            ConsoleObjectOperations(
                list: .certificateList, listVersions: .certificateListVersions, readVersion: .certificateGet, update: .certificateUpdate,
                delete: .certificateDelete, listDeleted: .certificateListDeleted, recover: .certificateRecover, purge: .certificatePurge)
        }
    }
}

/// The console's views of a vault's objects: the vault's lists, an object's versions, a version's properties (a key's
/// public JWK, a certificate's details) with a form to change them, reveal and create a secret, delete, and the
/// deleted objects with recover and purge. Each is authorised as the API operation it corresponds to.
extension ConsolePages {
    var objectRoutes: [Route<OperationName, ConsolePerson?>] {
        var routes: [Route<OperationName, ConsolePerson?>] = [
            Route(.get, "vaults/{vault}", "ConsoleVault", signedIn(vault)),
            Route(.get, "vaults/{vault}/deleted", "ConsoleDeleted", signedIn(deletedObjects)),
            Route(.post, "vaults/{vault}/secrets", "SecretSet", signedIn(createSecret)),
            Route(.post, "vaults/{vault}/keys", "KeyCreate", signedIn(createKey)),
            Route(.post, "vaults/{vault}/certificates", "CertificateCreate", signedIn(createCertificate)),
            Route(.post, "vaults/{vault}/secrets/{name}/reveal", "SecretGet", signedIn(reveal)),
            Route(.post, "vaults/{vault}/keys/{name}/rotate", "KeyRotate", signedIn(rotateKey)),
        ]
        for kind in ObjectKind.allCases {
            let operations = kind.console
            let object = "vaults/{vault}/\(kind.collection)/{name}"
            let deleted = "vaults/{vault}/deleted/\(kind.collection)/{name}"
            routes += [
                Route(.get, object, OperationName(stringLiteral: "Console" + kind.title), signedIn { try await versions(kind, $0, $1) }),
                Route(
                    .get, object + "/versions/{version}", OperationName(stringLiteral: "Console\(kind.title)Version"),
                    signedIn { try await version(kind, $0, $1) }),
                Route(
                    .post, object + "/versions/{version}", OperationName(stringLiteral: operations.update.name),
                    signedIn { try await update(kind, $0, $1) }),
                Route(
                    .post, object + "/delete", OperationName(stringLiteral: operations.delete.name),
                    signedIn { try await delete(kind, $0, $1) }),
                Route(
                    .post, deleted + "/recover", OperationName(stringLiteral: operations.recover.name),
                    signedIn { try await recover(kind, $0, $1) }),
                Route(
                    .post, deleted + "/purge", OperationName(stringLiteral: operations.purge.name),
                    signedIn { try await purge(kind, $0, $1) }),
            ]
        }
        return routes + certificateRoutes
    }

    // MARK: - A vault's objects

    /// A vault's secrets, keys and certificates (each list shown only if the person may list it), and a form to add a secret.
    func vault(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let vault = try await services.vaults.get(try VaultName(request.parameter("vault")))
        request.audit?.note { $0.vault = vault.name }
        let base = "/vaults/\(vault.name)"
        var page = frame("\(vault.name)", person, trail: [])
        page.navigation(
            [
                ("Deleted objects", "\(base)/deleted"), ("Expiry timeline", "\(base)/expiry"), ("Settings", "\(base)/settings"),
                ("Access", "\(base)/access"),
            ], separator: " · ")
        page.subheading("Secrets")
        try await section(&page, vault, person, .secretList, after: request.query["secrets"], more: "secrets", at: base) { after in
            let listed = try await services.secrets.list(in: vault.name, after: after, limit: Self.pageSize)
            let rows: [[HTMLPage.Cell]] = listed.items.map { item in
                [.link(item.name, href: "\(base)/secrets/\(item.name)"), .text(item.summary.contentType ?? "")]
                    + attributeCells(item.summary.attributes, tags: item.summary.tags, in: vault.name)
            }
            return (["Name", "Content type"] + Self.attributeHeaders, rows, listed.next)
        }
        page.subheading("Keys")
        try await section(&page, vault, person, .keyList, after: request.query["keys"], more: "keys", at: base) { after in
            let listed = try await services.keys.list(in: vault.name, after: after, limit: Self.pageSize)
            let rows: [[HTMLPage.Cell]] = listed.items.map { item in
                [.link(item.name, href: "\(base)/keys/\(item.name)"), .text(item.summary.keyType.rawValue)]
                    + attributeCells(item.summary.attributes, tags: item.summary.tags, in: vault.name)
            }
            return (["Name", "Type"] + Self.attributeHeaders, rows, listed.next)
        }
        page.subheading("Certificates")
        try await section(&page, vault, person, .certificateList, after: request.query["certificates"], more: "certificates", at: base) { after in
            let listed = try await services.certificates.list(in: vault.name, includePending: true, after: after, limit: Self.pageSize)
            let rows: [[HTMLPage.Cell]] = listed.items.map { listed in
                switch listed {
                case .certificate(let item):
                    [.link(item.name, href: "\(base)/certificates/\(item.name)"), .text(Self.thumbprint(item.summary.x5t))]
                        + attributeCells(item.summary.attributes, tags: item.summary.tags, in: vault.name)
                case .pendingOnly(let name):
                    [.link(name, href: "\(base)/certificates/\(name)/pending"), .text("pending")]
                        + Array(repeating: .text(""), count: Self.attributeHeaders.count)
                }
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
        page.subheading("New key")
        page.form(
            action: "\(base)/keys", csrf: person.session.csrfToken, hidden: [:],
            fields: [
                .init(label: "Name", name: "keyName", type: "text", autocomplete: "off"),
                .init(label: "Type (RSA, EC, oct; -HSM for hardware)", name: "keyType", type: "text", autocomplete: "off", value: "EC"),
                .init(
                    label: "Size or curve (2048, 3072, 4096; P-256, P-384, P-521)", name: "keySize", type: "text", autocomplete: "off", value: "P-256"
                ),
            ], buttons: [("Create key", "create-key")])
        page.subheading("New certificate")
        page.form(
            action: "\(base)/certificates", csrf: person.session.csrfToken, hidden: [:],
            fields: [
                .init(label: "Name", name: "certificateName", type: "text", autocomplete: "off"),
                .init(label: "Subject", name: "subject", type: "text", autocomplete: "off", value: "CN="),
                .init(label: "DNS names (comma-separated, optional)", name: "dnsNames", type: "text", autocomplete: "off", required: false),
                .init(label: "Months valid", name: "validityMonths", type: "number", autocomplete: "off", value: "12"),
                .init(
                    label: "Issuer (Self: signed here; Unknown: a request to sign elsewhere)", name: "issuer", type: "text", autocomplete: "off",
                    value: "Self"),
            ], buttons: [("Create certificate", "create-certificate")])
        return page.response(status: .ok)
    }

    /// One list of a vault page: its table when the person may run `operation`, else the refusal, which names the
    /// missing permission. `more` is the query parameter of the page at `path` that carries the next page's cursor.
    func section(
        _ page: inout HTMLPage, _ vault: VaultRecord, _ person: ConsolePerson, _ operation: VaultOperation, after: String?, more: String,
        at path: String, rows: (String?) async throws -> (headers: [String], rows: [[HTMLPage.Cell]], next: String?)
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
            page.link("More", href: "\(path)?\(more)=" + PercentEncoding.encode(next, keepingSlash: false))
        }
    }

    // MARK: - An object and its versions

    /// An object's versions (each linking to its page) and a button to delete the object.
    func versions(_ kind: ObjectKind, _ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let (vault, name) = try await authorized(request, person, kind.console.listVersions)
        let after = request.query["after"]
        let base = "/vaults/\(vault.name)/\(kind.collection)/\(name)"
        func link(_ version: String) -> HTMLPage.Cell { .link(version, href: "\(base)/versions/\(version)") }
        var headers = ["Version"]
        let rows: [[HTMLPage.Cell]]
        let next: String?
        switch kind {
        case .secret:
            let versions = try await services.secrets.versions(in: vault.name, name: name, after: after, limit: Self.pageSize)
            headers += ["Content type"]
            rows = versions.items.map { version in
                [link(version.record.version), .text(version.record.contentType ?? "")]
                    + attributeCells(version.record.attributes, tags: version.record.tags, in: vault.name)
                    + [.button("Reveal", action: "\(base)/reveal", csrf: person.session.csrfToken, hidden: ["version": version.record.version])]
            }
            next = versions.next
        case .key:
            let versions = try await services.keys.versions(in: vault.name, name: name, after: after, limit: Self.pageSize)
            headers += ["Type", "Operations"]
            rows = versions.items.map { version in
                [link(version.record.version), .text(version.record.keyType.rawValue), .text(version.record.keyOps.joined(separator: ", "))]
                    + attributeCells(version.record.attributes, tags: version.record.tags, in: vault.name)
            }
            next = versions.next
        case .certificate:
            let versions = try await services.certificates.versions(in: vault.name, name: name, after: after, limit: Self.pageSize)
            headers += ["Thumbprint (SHA-1)"]
            rows = versions.items.map { version in
                [link(version.record.version), .text(Self.thumbprint(version.record.x5t))]
                    + attributeCells(version.record.attributes, tags: version.record.tags, in: vault.name)
            }
            next = versions.next
        }
        var page = frame(name, person, trail: [("\(vault.name)", "/vaults/\(vault.name)")])
        if kind == .certificate { page.link("Certificate operation", href: "\(base)/pending") }
        if kind == .key {
            page.form(
                action: "\(base)/rotate", csrf: person.session.csrfToken, hidden: [:], fields: [],
                buttons: [("Rotate: a new version of the same type", "rotate")])
        }
        page.subheading("Versions")
        page.table(headers: headers + Self.attributeHeaders + (kind == .secret ? [""] : []), rows: rows)
        if let next { page.link("More", href: "\(base)?after=" + PercentEncoding.encode(next, keepingSlash: false)) }
        page.subheading("Delete")
        page.paragraph(
            "A deleted \(kind.noun) is kept \(vault.retentionDays) days: it can be recovered from the vault's deleted objects until then"
                + (kind == .certificate ? " (its key and secret go with it)." : "."))
        page.form(
            action: "\(base)/delete", csrf: person.session.csrfToken, hidden: [:], fields: [], buttons: [("Delete \(kind.noun)", "delete")])
        return page.response(status: .ok)
    }

    /// A version's properties and a form to change them: enabled, activation and expiry, tags, and a secret's content
    /// type or a key's permitted operations. A key's page shows its public JWK; a certificate's its details and chain.
    func version(_ kind: ObjectKind, _ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let version = request.parameter("version")
        let (vault, name) = try await authorized(request, person, kind.console.readVersion, version: version)
        let base = "/vaults/\(vault.name)/\(kind.collection)/\(name)"
        var page = frame("\(name) · \(version)", person, trail: [("\(vault.name)", "/vaults/\(vault.name)"), (name, base)])
        var fields: [HTMLPage.Field] = []
        let attributes: ObjectAttributes
        let tags: [String: String]?
        switch kind {
        case .secret:
            let record = try await services.secrets.properties(in: vault.name, name: name, version: version).record
            (attributes, tags) = (record.attributes, record.tags)
            page.properties(objectProperties(attributes, tags: tags, in: vault.name) + [("Content type", record.contentType ?? "")])
            fields.append(
                .init(label: "Content type", name: "contentType", type: "text", autocomplete: "off", required: false, value: record.contentType ?? "")
            )
            page.form(
                action: "\(base)/reveal", csrf: person.session.csrfToken, hidden: ["version": version], fields: [], buttons: [("Reveal", "reveal")])
        case .key:
            let record = try await services.keys.get(in: vault.name, name: name, version: version).record
            (attributes, tags) = (record.attributes, record.tags)
            page.properties(
                objectProperties(attributes, tags: tags, in: vault.name) + [
                    ("Type", record.keyType.rawValue), ("Size or curve", record.curve?.rawValue ?? record.size.map { "\($0) bits" } ?? ""),
                    ("Permitted operations", record.keyOps.joined(separator: ", ")), ("Exportable", record.exportable == true ? "yes" : "no"),
                    ("Managed by a certificate", record.managed == true ? "yes" : "no"),
                ])
            page.subheading("Public key (JWK)")
            var jwk = record.publicKey
            jwk.kid = VaultURL(base: addressing.vaultURL(vault.name)).object(.key, name, version: version)
            jwk.keyOps = record.keyOps
            page.preformatted(try Self.pretty(jwk), id: "jwk")
            fields.append(
                .init(
                    label: "Permitted operations (comma-separated)", name: "keyOps", type: "text", autocomplete: "off", required: false,
                    value: record.keyOps.joined(separator: ", ")))
        case .certificate:
            let certificate = try await services.certificates.get(in: vault.name, name: name, version: version).certificate.record
            (attributes, tags) = (certificate.attributes, certificate.tags)
            page.properties(objectProperties(attributes, tags: tags, in: vault.name) + [("Content type", certificate.contentType)])
            try certificateDetails(&page, certificate)
        }
        page.subheading("Change")
        fields.insert(
            .init(label: "Enabled", name: "enabled", type: "checkbox", autocomplete: "off", required: false, value: attributes.enabled ? "on" : ""),
            at: 0)
        if kind != .certificate {
            // A certificate's activation and expiry are its validity; its key and secret follow them.
            fields += [
                .init(
                    label: "Not before (UTC, empty: none)", name: "notBefore", type: "datetime-local", autocomplete: "off", required: false,
                    value: Self.dateTimeField(attributes.notBefore)),
                .init(
                    label: "Expires (UTC, empty: never)", name: "expires", type: "datetime-local", autocomplete: "off", required: false,
                    value: Self.dateTimeField(attributes.expires)),
            ]
        }
        fields.append(
            .init(
                label: "Tags (name=value, comma-separated)", name: "tags", type: "text", autocomplete: "off", required: false,
                value: Self.tagsText(tags)))
        page.form(action: "\(base)/versions/\(version)", csrf: person.session.csrfToken, hidden: [:], fields: fields, buttons: [("Save", "save")])
        return page.response(status: .ok)
    }

    /// The properties every version has (expiry on the vault's clock).
    func objectProperties(_ attributes: ObjectAttributes, tags: [String: String]?, in vault: VaultName) -> [(name: String, value: String)] {
        let now = services.vaultClock.now(in: vault)
        return [
            ("Enabled", attributes.enabled ? "yes" : "no"), ("Not before", attributes.notBefore.map(Self.date) ?? ""),
            ("Expires", attributes.expires.map { Self.date($0) + ($0 <= now ? " (expired)" : "") } ?? "never"),
            ("Created", Self.date(attributes.created)), ("Updated", Self.date(attributes.updated)), ("Tags", Self.tagsText(tags)),
        ]
    }

    /// Saves a version's form (one `…Update` call).
    func update(_ kind: ObjectKind, _ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let form = try SignInPages.checkedForm(request, session: person.session)
        let version = request.parameter("version")
        let (vault, name) = try await authorized(request, person, kind.console.update, version: version)
        let enabled = form["enabled"] != nil
        let tags = try Self.tags(form["tags"]) ?? [:]
        let changes = AttributeChanges(
            enabled: enabled, notBefore: .some(try Self.dateTime(form["notBefore"], "activation date")),
            expires: .some(try Self.dateTime(form["expires"], "expiry date")))
        switch kind {
        case .secret:
            _ = try await services.secrets.update(
                in: vault.name, name: name, version: version,
                properties: .init(contentType: .some(Self.nonEmpty(form["contentType"])), attributes: changes, tags: .some(tags)))
        case .key:
            let operations = (form["keyOps"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            _ = try await services.keys.update(
                in: vault.name, name: name, version: version, properties: .init(keyOps: operations, attributes: changes, tags: .some(tags)))
        case .certificate:
            _ = try await services.certificates.update(in: vault.name, name: name, version: version, enabled: enabled, tags: tags, policy: nil)
        }
        return Self.redirect(to: "/vaults/\(vault.name)/\(kind.collection)/\(name)/versions/\(version)")
    }

    /// Soft-deletes an object (every version), then shows the vault's deleted objects.
    func delete(_ kind: ObjectKind, _ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        _ = try SignInPages.checkedForm(request, session: person.session)
        let (vault, name) = try await authorized(request, person, kind.console.delete)
        switch kind {
        case .secret: _ = try await services.secrets.delete(in: vault, name: name)
        case .key: _ = try await services.keys.delete(in: vault, name: name)
        case .certificate: _ = try await services.certificates.delete(in: vault, name: name)
        }
        return Self.redirect(to: "/vaults/\(vault.name)/deleted")
    }

    func recover(_ kind: ObjectKind, _ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        _ = try SignInPages.checkedForm(request, session: person.session)
        let (vault, name) = try await authorized(request, person, kind.console.recover)
        switch kind {
        case .secret: _ = try await services.secrets.recover(in: vault.name, name: name)
        case .key: _ = try await services.keys.recover(in: vault.name, name: name)
        case .certificate: _ = try await services.certificates.recover(in: vault.name, name: name)
        }
        return Self.redirect(to: "/vaults/\(vault.name)/\(kind.collection)/\(name)")
    }

    func purge(_ kind: ObjectKind, _ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        _ = try SignInPages.checkedForm(request, session: person.session)
        let (vault, name) = try await authorized(request, person, kind.console.purge)
        switch kind {
        case .secret: try await services.secrets.purge(in: vault, name: name)
        case .key: try await services.keys.purge(in: vault, name: name)
        case .certificate: try await services.certificates.purge(in: vault, name: name)
        }
        return Self.redirect(to: "/vaults/\(vault.name)/deleted")
    }

    /// A vault's deleted secrets, keys and certificates, each with buttons to recover or purge it.
    func deletedObjects(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let vault = try await services.vaults.get(try VaultName(request.parameter("vault")))
        request.audit?.note { $0.vault = vault.name }
        var page = frame("\(vault.name): deleted objects", person, trail: [("\(vault.name)", "/vaults/\(vault.name)")])
        page.paragraph(
            "Deleted objects are purged \(vault.retentionDays) days after their deletion"
                + (vault.purgeProtection ? "; this vault's purge protection allows no earlier purge." : "."))
        let csrf = person.session.csrfToken
        func rows(_ kind: ObjectKind, _ items: [(name: String, deletion: Deletion?)]) -> [[HTMLPage.Cell]] {
            items.map { item in
                let base = "/vaults/\(vault.name)/deleted/\(kind.collection)/\(item.name)"
                return [
                    .text(item.name), .text(item.deletion.map { Self.date($0.deletedDate) } ?? ""),
                    .text(item.deletion.map { Self.date($0.scheduledPurgeDate) } ?? ""),
                    .button("Recover", action: "\(base)/recover", csrf: csrf, hidden: [:]),
                    vault.purgeProtection ? .text("") : .button("Purge", action: "\(base)/purge", csrf: csrf, hidden: [:]),
                ]
            }
        }
        let headers = ["Name", "Deleted", "Purged on", "", ""]
        for kind in ObjectKind.allCases {
            page.subheading(kind.title + "s")
            try await section(
                &page, vault, person, kind.console.listDeleted, after: request.query["deleted-\(kind.collection)"],
                more: "deleted-\(kind.collection)", at: "/vaults/\(vault.name)/deleted"
            ) { after in
                switch kind {
                case .secret:
                    let listed = try await services.secrets.listDeleted(in: vault.name, after: after, limit: Self.pageSize)
                    return (headers, rows(kind, listed.items.map { ($0.name, $0.deletion) }), listed.next)
                case .key:
                    let listed = try await services.keys.listDeleted(in: vault.name, after: after, limit: Self.pageSize)
                    return (headers, rows(kind, listed.items.map { ($0.name, $0.deletion) }), listed.next)
                case .certificate:
                    let listed = try await services.certificates.listDeleted(in: vault.name, after: after, limit: Self.pageSize)
                    return (headers, rows(kind, listed.items.map { ($0.name, $0.deletion) }), listed.next)
                }
            }
        }
        return page.response(status: .ok)
    }

    // MARK: - Secrets' values

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
        let created = try await services.secrets.set(
            in: vault.name, name: name, value: form["value"] ?? "",
            properties: .init(contentType: Self.nonEmpty(form["contentType"]), attributes: .init(), tags: nil))
        return Self.redirect(to: "/vaults/\(vault.name)/secrets/\(created.name)")
    }

    /// Rotates a key (a new version like the latest, as its rotation policy says), then shows its versions.
    func rotateKey(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        _ = try SignInPages.checkedForm(request, session: person.session)
        let (vault, name) = try await authorized(request, person, .keyRotate)
        _ = try await services.keys.rotate(in: vault.name, name: name)
        return Self.redirect(to: "/vaults/\(vault.name)/keys/\(name)")
    }

    /// Creates a key (or its next version) from the vault page's form, then shows it.
    func createKey(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let form = try SignInPages.checkedForm(request, session: person.session)
        let name = form["keyName"] ?? ""
        let vault = try await services.vaults.get(try VaultName(request.parameter("vault")))
        try await authorize(request, person, .keyCreate, in: vault, name: name, version: nil)
        let typeName = Self.nonEmpty(form["keyType"]) ?? "EC"
        guard let type = KeyType(rawValue: typeName) else {
            throw CoffreError.badParameter("'\(typeName)' is not a key type: use RSA, RSA-HSM, EC, EC-HSM, oct or oct-HSM.")
        }
        // The field holds a curve for EC keys and a size in bits for the others (left empty or as a curve: the default).
        let size = Self.nonEmpty(form["keySize"])
        let spec: KeyService.Spec
        if type.family == .ec {
            let curve = try size.map { text in
                guard let curve = CurveName(rawValue: text) else {
                    throw CoffreError.badParameter("'\(text)' is not a curve: use P-256, P-384 or P-521.")
                }
                return curve
            }
            spec = KeyService.Spec(type: type, curve: curve)
        } else {
            spec = KeyService.Spec(type: type, size: try Self.integer(size?.hasPrefix("P-") == true ? nil : size, "key size"))
        }
        let created = try await services.keys.create(in: vault.name, name: name, spec: spec, properties: .init())
        return Self.redirect(to: "/vaults/\(vault.name)/keys/\(created.name)")
    }

    /// Creates a certificate from the vault page's form: issued at once (`Self`), or a request waiting in its
    /// operation (`Unknown`), which the page then shows.
    func createCertificate(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let form = try SignInPages.checkedForm(request, session: person.session)
        let name = form["certificateName"] ?? ""
        let vault = try await services.vaults.get(try VaultName(request.parameter("vault")))
        try await authorize(request, person, .certificateCreate, in: vault, name: name, version: nil)
        var policy = CertificatePolicy()
        policy.subject = Self.nonEmpty(form["subject"])
        let dnsNames = (form["dnsNames"] ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        if !dnsNames.isEmpty { policy.subjectAlternativeNames = .init(dnsNames: dnsNames) }
        policy.validityInMonths = try Self.integer(form["validityMonths"], "number of months")
        policy.issuerName = Self.nonEmpty(form["issuer"]) ?? "Self"
        let operation = try await services.certificates.create(in: vault.name, name: name, policy: policy, properties: .init())
        let path = "/vaults/\(vault.name)/certificates/\(name)"
        return Self.redirect(to: operation.isInProgress ? path + "/pending" : path)
    }

    /// A JSON value, indented with sorted members (a key's public JWK).
    static func pretty(_ value: some Encodable) throws -> String {
        let compact = Data(buffer: try JSON.encode(value))
        let object = try JSONSerialization.jsonObject(with: compact)
        let pretty = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes])
        return String(decoding: pretty, as: UTF8.self)
    }
}
