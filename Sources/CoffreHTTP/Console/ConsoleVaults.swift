import CoffreAuth
import CoffreCore
import CoffreModel
import Foundation
import HTTPTypes
import Hummingbird

/// The console's vaults and Managed HSM pools: the vault list, a new vault, its settings, deleting it, the deleted
/// vaults (recover, purge), and the pools (list, new, settings, delete). Vaults and pools are resources: every action
/// is Azure Resource Manager's, authorised by the person's roles (``ResourceManager``) as `az keyvault …` would be, and
/// a refusal names the role action that is missing.
extension ConsolePages {
    var vaultRoutes: [Route<OperationName, ConsolePerson?>] {
        [
            Route(.get, "", "ConsoleVaults", signedIn(vaults)),
            Route(.post, "vaults", "VaultPut", signedIn(createVault)),
            Route(.get, "vaults/{vault}/settings", "VaultGet", signedIn(vaultSettings)),
            Route(.post, "vaults/{vault}/settings", "VaultPatch", signedIn(updateVault)),
            Route(.post, "vaults/{vault}/delete", "VaultDelete", signedIn(deleteVault)),
            Route(.get, "deleted-vaults", "DeletedVaultList", signedIn(deletedVaults)),
            Route(.post, "deleted-vaults/{vault}/recover", "VaultPut", signedIn(recoverVault)),
            Route(.post, "deleted-vaults/{vault}/purge", "DeletedVaultPurge", signedIn(purgeVault)),
            Route(.get, "pools", "ManagedHSMList", signedIn(pools)),
            Route(.post, "pools", "ManagedHSMPut", signedIn(createPool)),
            Route(.get, "pools/{pool}", "ManagedHSMGet", signedIn(pool)),
            Route(.post, "pools/{pool}/delete", "ManagedHSMDelete", signedIn(deletePool)),
        ]
    }

    /// The person's roles (Azure Resource Manager's authorisation), read once per request.
    func grants(_ person: ConsolePerson) async throws -> ResourceManager.Grants {
        try await services.resources.authorization.grants(of: person.caller)
    }

    // MARK: - Vaults

    /// The vaults in which the person may list secrets, keys or certificates, or whose settings they may read; a form
    /// for a new vault.
    func vaults(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let readable = Set(try await services.resources.listVaults(try await grants(person), group: nil).map(\.name))
        var rows: [[HTMLPage.Cell]] = []
        for vault in try await services.vaults.list() {
            var listable = false
            for operation in [VaultOperation.secretList, .keyList, .certificateList] where !listable {
                listable = (try? await access.authorize(person.caller, operation, in: vault, objectName: nil)) != nil
            }
            guard listable || readable.contains(vault.name) else { continue }
            rows.append([
                listable ? .link("\(vault.name)", href: "/vaults/\(vault.name)") : .text("\(vault.name)"), .text(vault.group),
                .text(vault.rbacAuthorization ? "Role assignments" : "Access policies"), .text(addressing.vaultURL(vault.name)),
                readable.contains(vault.name) ? .link("Settings", href: "/vaults/\(vault.name)/settings") : .text(""),
            ])
        }
        var page = frame("Vaults", person, trail: [])
        if rows.isEmpty {
            page.paragraph("You may not list the objects of any vault. Ask an administrator for an access policy or a role assignment.")
        } else {
            page.table(headers: ["Vault", "Resource group", "Authorisation", "URL", ""], rows: rows)
        }
        page.subheading("New vault")
        page.form(
            action: "/vaults", csrf: person.session.csrfToken, hidden: [:],
            fields: [
                .init(label: "Name (3-24 letters, digits and dashes)", name: "name", type: "text", autocomplete: "off"),
                .init(label: "Resource group", name: "group", type: "text", autocomplete: "off", value: VaultRecord.defaultResourceGroup),
                .init(label: "Role assignments instead of access policies", name: "rbac", type: "checkbox", autocomplete: "off", required: false),
                .init(label: "Days deleted objects are kept (7-90)", name: "retentionDays", type: "number", autocomplete: "off", value: "90"),
                .init(
                    label: "Purge protection (cannot be turned off)", name: "purgeProtection", type: "checkbox", autocomplete: "off", required: false),
            ], buttons: [("Create vault", "create-vault")])
        return page.response(status: .ok)
    }

    /// Creates a vault as `az keyvault create` does: with access policies, the person gets every permission on it.
    func createVault(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let form = try SignInPages.checkedForm(request, session: person.session)
        let rbac = form["rbac"] != nil
        let changes = ResourceManager.VaultChanges(
            accessPolicies: rbac ? [] : [AccessPolicy.all(tenantId: person.caller.tenantId, objectId: person.caller.objectId)],
            rbacAuthorization: rbac, retentionDays: try Self.integer(form["retentionDays"], "days deleted objects are kept"),
            purgeProtection: form["purgeProtection"] != nil, createOnly: true)
        let name = form["name"] ?? ""
        _ = try await services.resources.createOrUpdateVault(
            try await grants(person), group: Self.nonEmpty(form["group"]) ?? VaultRecord.defaultResourceGroup, name: name, changes)
        return Self.redirect(to: "/vaults/\(name)/settings")
    }

    /// The vault of the path, read as Azure Resource Manager reads it (the person's `vaults/read`).
    func vaultResource(_ request: ConsoleRequest, _ grants: ResourceManager.Grants) async throws -> VaultRecord {
        let name = request.parameter("vault")
        let vault = try await services.vaults.get(try VaultName(name))
        request.audit?.note { $0.vault = vault.name }
        return try await services.resources.vault(grants, group: vault.group, name: name)
    }

    /// A vault's settings, a form to change them and a button to delete the vault.
    func vaultSettings(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let vault = try await vaultResource(request, try await grants(person))
        let resource = vault.resource
        func yes(_ value: Bool?) -> String { value == true ? "yes" : "no" }
        var page = frame("\(vault.name) settings", person, trail: [("\(vault.name)", "/vaults/\(vault.name)")])
        page.properties([
            ("URL", addressing.vaultURL(vault.name)), ("Resource group", vault.group), ("Location", resource?.location ?? ResourceManager.location),
            ("SKU", resource?.sku ?? "standard"), ("Authorisation", vault.rbacAuthorization ? "Role assignments (RBAC)" : "Access policies"),
            ("Access policies", "\(vault.accessPolicies.count)"), ("Days deleted objects are kept", "\(vault.retentionDays)"),
            ("Purge protection", yes(vault.purgeProtection)), ("Enabled for deployment", yes(resource?.enabledForDeployment)),
            ("Enabled for disk encryption", yes(resource?.enabledForDiskEncryption)),
            ("Enabled for template deployment", yes(resource?.enabledForTemplateDeployment)),
            ("Public network access", resource?.publicNetworkAccess ?? "Enabled"), ("Tags", Self.tagsText(resource?.tags)),
            ("Created", Self.date(vault.created)),
        ])
        page.subheading("Change settings")
        page.form(
            action: "/vaults/\(vault.name)/settings", csrf: person.session.csrfToken, hidden: [:],
            fields: [
                .init(
                    label: "Role assignments instead of access policies", name: "rbac", type: "checkbox", autocomplete: "off", required: false,
                    value: vault.rbacAuthorization ? "on" : ""),
                .init(
                    label: "Days deleted objects are kept (7-90)", name: "retentionDays", type: "number", autocomplete: "off",
                    value: "\(vault.retentionDays)"),
                .init(
                    label: "Purge protection (cannot be turned off)", name: "purgeProtection", type: "checkbox", autocomplete: "off", required: false,
                    value: vault.purgeProtection ? "on" : ""),
                .init(
                    label: "Enabled for deployment", name: "deployment", type: "checkbox", autocomplete: "off", required: false,
                    value: resource?.enabledForDeployment == true ? "on" : ""),
                .init(
                    label: "Enabled for disk encryption", name: "diskEncryption", type: "checkbox", autocomplete: "off", required: false,
                    value: resource?.enabledForDiskEncryption == true ? "on" : ""),
                .init(
                    label: "Enabled for template deployment", name: "templateDeployment", type: "checkbox", autocomplete: "off", required: false,
                    value: resource?.enabledForTemplateDeployment == true ? "on" : ""),
                .init(
                    label: "Tags (name=value, comma-separated)", name: "tags", type: "text", autocomplete: "off", required: false,
                    value: Self.tagsText(resource?.tags)),
            ], buttons: [("Save", "save-settings")])
        page.subheading("Delete")
        page.paragraph(
            "A deleted vault is kept \(vault.retentionDays) days with its objects: it can be recovered from Deleted vaults until then"
                + (vault.purgeProtection ? "." : ", or purged."))
        page.form(
            action: "/vaults/\(vault.name)/delete", csrf: person.session.csrfToken, hidden: [:], fields: [],
            buttons: [("Delete vault", "delete-vault")])
        return page.response(status: .ok)
    }

    /// Saves the settings form (`PATCH`: what the form shows; purge protection is only ever turned on).
    func updateVault(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let form = try SignInPages.checkedForm(request, session: person.session)
        let name = request.parameter("vault")
        let vault = try await services.vaults.get(try VaultName(name))
        request.audit?.note { $0.vault = vault.name }
        let changes = ResourceManager.VaultChanges(
            tags: try Self.tags(form["tags"]) ?? [:], enabledForDeployment: form["deployment"] != nil,
            enabledForDiskEncryption: form["diskEncryption"] != nil, enabledForTemplateDeployment: form["templateDeployment"] != nil,
            rbacAuthorization: form["rbac"] != nil, retentionDays: try Self.integer(form["retentionDays"], "days deleted objects are kept"),
            purgeProtection: form["purgeProtection"] != nil ? true : nil)
        _ = try await services.resources.updateVault(try await grants(person), group: vault.group, name: name, changes)
        return Self.redirect(to: "/vaults/\(name)/settings")
    }

    /// Soft-deletes the vault, then shows the deleted vaults.
    func deleteVault(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        _ = try SignInPages.checkedForm(request, session: person.session)
        let name = request.parameter("vault")
        let vault = try await services.vaults.get(try VaultName(name))
        request.audit?.note { $0.vault = vault.name }
        _ = try await services.resources.deleteVault(try await grants(person), group: vault.group, name: name)
        return Self.redirect(to: "/deleted-vaults")
    }

    // MARK: - Deleted vaults

    /// The soft-deleted vaults, with buttons to recover or purge each.
    func deletedVaults(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let deleted = try await services.resources.deletedVaults(try await grants(person))
        let csrf = person.session.csrfToken
        let rows: [[HTMLPage.Cell]] = deleted.map { deleted in
            let vault = deleted.vault
            let location = vault.resource?.location ?? ResourceManager.location
            return [
                .text("\(vault.name)"), .text(vault.group), .text(Self.date(deleted.deletedDate)), .text(Self.date(deleted.scheduledPurgeDate)),
                .text(vault.purgeProtection ? "yes" : "no"),
                .button("Recover", action: "/deleted-vaults/\(vault.name)/recover", csrf: csrf, hidden: ["group": vault.group]),
                vault.purgeProtection
                    ? .text("") : .button("Purge", action: "/deleted-vaults/\(vault.name)/purge", csrf: csrf, hidden: ["location": location]),
            ]
        }
        var page = frame("Deleted vaults", person, trail: [])
        if rows.isEmpty {
            page.paragraph("None.")
        } else {
            page.table(headers: ["Vault", "Resource group", "Deleted", "Purged on", "Purge protection", "", ""], rows: rows)
        }
        return page.response(status: .ok)
    }

    /// Recovers a deleted vault into its group (`createMode: recover`), then shows it.
    func recoverVault(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let form = try SignInPages.checkedForm(request, session: person.session)
        let name = request.parameter("vault")
        request.audit?.note { $0.vault = try? VaultName(name) }
        _ = try await services.resources.createOrUpdateVault(
            try await grants(person), group: Self.nonEmpty(form["group"]) ?? VaultRecord.defaultResourceGroup, name: name,
            ResourceManager.VaultChanges(recover: true))
        return Self.redirect(to: "/vaults/\(name)/settings")
    }

    /// Purges a deleted vault and everything in it, for good.
    func purgeVault(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let form = try SignInPages.checkedForm(request, session: person.session)
        let name = request.parameter("vault")
        request.audit?.note { $0.vault = try? VaultName(name) }
        try await services.resources.purgeDeletedVault(
            try await grants(person), location: Self.nonEmpty(form["location"]) ?? ResourceManager.location, name: name)
        return Self.redirect(to: "/deleted-vaults")
    }

    // MARK: - Managed HSM pools

    /// The pools whose group the person may read, and a form for a new pool.
    func pools(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let pools = try await services.resources.listManagedHSMs(try await grants(person), group: nil)
        let rows: [[HTMLPage.Cell]] = pools.map { pool in
            [
                .link("\(pool.name)", href: "/pools/\(pool.name)"), .text(pool.group), .text(Self.activation(pool.activation)),
                .text(addressing.managedHSMURL(pool.name)),
            ]
        }
        var page = frame("Managed HSM pools", person, trail: [])
        if rows.isEmpty {
            page.paragraph("None that you may read.")
        } else {
            page.table(headers: ["Pool", "Resource group", "Status", "URL"], rows: rows)
        }
        page.subheading("New pool")
        page.paragraph(
            "You become its first administrator. It is activated when its security domain is downloaded (az keyvault security-domain download).")
        page.form(
            action: "/pools", csrf: person.session.csrfToken, hidden: [:],
            fields: [
                .init(label: "Name (3-24 letters, digits and dashes)", name: "name", type: "text", autocomplete: "off"),
                .init(label: "Resource group", name: "group", type: "text", autocomplete: "off", value: VaultRecord.defaultResourceGroup),
                .init(label: "Days deleted keys are kept (7-90)", name: "retentionDays", type: "number", autocomplete: "off", value: "90"),
                .init(label: "Purge protection", name: "purgeProtection", type: "checkbox", autocomplete: "off", required: false),
            ], buttons: [("Create pool", "create-pool")])
        return page.response(status: .ok)
    }

    func createPool(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let form = try SignInPages.checkedForm(request, session: person.session)
        let name = form["name"] ?? ""
        _ = try await services.resources.createManagedHSM(
            try await grants(person), group: Self.nonEmpty(form["group"]) ?? VaultRecord.defaultResourceGroup, name: name,
            ResourceManager.ManagedHSMChanges(
                administrators: [person.caller.objectId], retentionDays: try Self.integer(form["retentionDays"], "days deleted keys are kept"),
                purgeProtection: form["purgeProtection"] != nil))
        return Self.redirect(to: "/pools/\(name)")
    }

    /// The pool of the path, read as Azure Resource Manager reads it.
    func poolResource(_ request: ConsoleRequest, _ grants: ResourceManager.Grants) async throws -> ManagedHSMPool {
        let name = request.parameter("pool")
        guard let pool = try await services.resources.listManagedHSMs(grants, group: nil).first(where: { "\($0.name)" == name.lowercased() })
        else {
            return try await services.resources.managedHSM(grants, group: VaultRecord.defaultResourceGroup, name: name)
        }
        return pool
    }

    /// A pool's settings and a button to delete it.
    func pool(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let pool = try await poolResource(request, try await grants(person))
        var page = frame("\(pool.name)", person, trail: [("Managed HSM pools", "/pools")])
        page.properties([
            ("URL", addressing.managedHSMURL(pool.name)), ("Resource group", pool.group),
            ("Location", pool.resource?.location ?? ResourceManager.location), ("Status", Self.activation(pool.activation)),
            ("Administrators", pool.administrators.joined(separator: ", ")), ("Days deleted keys are kept", "\(pool.retentionDays)"),
            ("Purge protection", pool.purgeProtection ? "yes" : "no"), ("Tags", Self.tagsText(pool.resource?.tags)),
            ("Created", Self.date(pool.created)),
        ])
        page.subheading("Delete")
        page.paragraph("Deleting a pool destroys its keys, role assignments and settings at once: Coffre keeps no deleted pools.")
        page.form(
            action: "/pools/\(pool.name)/delete", csrf: person.session.csrfToken, hidden: ["group": pool.group], fields: [],
            buttons: [("Delete pool", "delete-pool")])
        return page.response(status: .ok)
    }

    func deletePool(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let form = try SignInPages.checkedForm(request, session: person.session)
        _ = try await services.resources.deleteManagedHSM(
            try await grants(person), group: Self.nonEmpty(form["group"]) ?? VaultRecord.defaultResourceGroup, name: request.parameter("pool"))
        return Self.redirect(to: "/pools")
    }

    static func activation(_ activation: PoolActivation) -> String {
        switch activation {
        case .notActivated: "Not activated (download its security domain)"
        case .activating(let source, let since): "Activating (\(source.rawValue)) since \(date(since))"
        case .active(let since): "Active since \(date(since))"
        case .failed(let reason, let at): "Activation failed at \(date(at)): \(reason)"
        }
    }

    // MARK: - Form values

    /// After a change: back to a page (303, so that reloading does not post again).
    static func redirect(to path: String) -> Response {
        Response(status: .seeOther, headers: [.location: path, .cacheControl: "no-store"])
    }

    static func nonEmpty(_ text: String?) -> String? {
        guard let text = text?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        return text
    }

    /// A whole number of a form (nil when left empty).
    static func integer(_ text: String?, _ what: String) throws -> Int? {
        guard let text = nonEmpty(text) else { return nil }
        guard let value = Int(text) else { throw CoffreError.badParameter("The \(what) must be a whole number, not '\(text)'.") }
        return value
    }

    /// Tags written `name=value, other=value` (nil when left empty).
    static func tags(_ text: String?) throws -> [String: String]? {
        guard let text = nonEmpty(text) else { return nil }
        var tags: [String: String] = [:]
        for pair in text.split(whereSeparator: { $0 == "," || $0 == "\n" }) {
            let parts = pair.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, !parts[0].isEmpty else {
                throw CoffreError.badParameter("Tags are written name=value, separated by commas: '\(pair)' is not.")
            }
            tags[parts[0]] = parts[1]
        }
        return tags
    }

    static func tagsText(_ tags: [String: String]?) -> String {
        (tags ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
    }

    /// A UTC date and time from a `datetime-local` field (`2027-01-31T12:00`), nil when left empty.
    static func dateTime(_ text: String?, _ what: String) throws -> Int64? {
        guard let text = nonEmpty(text) else { return nil }
        let numbers = text.split(whereSeparator: { "-T:".contains($0) }).map { Int($0) }
        guard numbers.count >= 5, numbers.allSatisfy({ $0 != nil }),
            let time = CivilTime(year: numbers[0]!, month: numbers[1]!, day: numbers[2]!, hour: numbers[3]!, minute: numbers[4]!)
        else { throw CoffreError.badParameter("The \(what) must be a date and time, 2027-01-31T12:00, not '\(text)'.") }
        return time.seconds
    }

    /// A `datetime-local` field's value for a time.
    static func dateTimeField(_ seconds: Int64?) -> String {
        guard let seconds else { return "" }
        return String(date(seconds).dropLast(" UTC".count)).replacingOccurrences(of: " ", with: "T")
    }
}
