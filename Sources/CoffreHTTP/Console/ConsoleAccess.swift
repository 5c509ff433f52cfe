import CoffreAuth
import CoffreCore
import CoffreCrypto
import CoffreDirectory
import CoffreModel
import Foundation
import Hummingbird

/// The console's access editors of a vault (`/vaults/{vault}/access`): its access policies and its role assignments,
/// for users, groups and applications named by user principal name, name, client id or object id.
///
/// Every read and change is the Azure Resource Manager operation `az keyvault set-policy` and `az role assignment`
/// make (``ResourceManager/updateAccessPolicies(_:group:name:_:_:)``, ``ResourceManager/assignRole(_:id:at:roleDefinitionId:principalId:principalType:)``…),
/// authorised by the person's roles as ARM authorises them: changing a policy needs
/// `Microsoft.KeyVault/vaults/accessPolicies/write`, assigning a role `Microsoft.Authorization/roleAssignments/write`;
/// a refusal names the action that is missing. Data-plane permissions (an access policy's) manage nothing, as in Azure.
extension ConsolePages {
    var accessRoutes: [Route<OperationName, ConsolePerson?>] {
        [
            Route(.get, "vaults/{vault}/access", "ConsoleAccess", signedIn(access)),
            Route(.post, "vaults/{vault}/access/policies", "VaultAccessPolicySet", signedIn(setPolicy)),
            Route(.post, "vaults/{vault}/access/policies/remove", "VaultAccessPolicyDelete", signedIn(removePolicy)),
            Route(.post, "vaults/{vault}/access/roles", "RoleAssignmentCreate", signedIn(assignRole)),
            Route(.post, "vaults/{vault}/access/roles/remove", "RoleAssignmentDelete", signedIn(removeRoleAssignment)),
        ]
    }

    /// The vault's access policies and role assignments (each shown only if the person may read it), with the forms
    /// that change them; `?principal=` fills the policy form with that principal's current permissions.
    func access(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let vault = try await accessedVault(request)
        let grants = try await services.resources.authorization.grants(of: person.caller)
        let base = "/vaults/\(vault.name)/access"
        let csrf = person.session.csrfToken
        var page = frame("Access to \(vault.name)", person, trail: [("\(vault.name)", "/vaults/\(vault.name)")])
        page.paragraph(
            vault.rbacAuthorization
                ? "This vault's permission model is Azure role-based access control: role assignments decide data access, access policies are not read."
                : "This vault's permission model is the vault access policy: access policies decide data access, data-plane roles are not read.")

        page.subheading("Access policies")
        do {
            let current = try await services.resources.vault(grants, group: vault.group, name: vault.name.value)
            var rows: [[HTMLPage.Cell]] = []
            for policy in current.accessPolicies {
                let principal = await describe(policy.objectId)
                rows.append(
                    [.text(principal.name), .text(principal.type)]
                        + PermissionArea.allCases.map { area in
                            .text(area.allPermissions.filter { policy.allows($0, in: area) }.joined(separator: ", "))
                        }
                        + [
                            .link("Change", href: "\(base)?principal=\(policy.objectId)"),
                            .button("Remove", action: "\(base)/policies/remove", csrf: csrf, hidden: ["principal": policy.objectId]),
                        ])
            }
            if rows.isEmpty {
                page.paragraph("None.")
            } else {
                page.table(headers: ["Principal", "Type"] + PermissionArea.allCases.map { $0.rawValue.capitalized } + ["", ""], rows: rows)
            }
            let editing = request.query["principal"].flatMap { wanted in current.accessPolicies.first { $0.objectId == wanted.lowercased() } }
            page.subheading(editing == nil ? "Add an access policy" : "Change an access policy")
            page.form(
                action: "\(base)/policies", csrf: csrf, hidden: [:],
                fields: [
                    .init(
                        label: "User, group or application (user principal name, name, client id or object id)", name: "principal", type: "text",
                        autocomplete: "off", value: editing?.objectId ?? "")
                ]
                    + PermissionArea.allCases.map { area in
                        .init(
                            label: "\(area.rawValue.capitalized) permissions", name: area.rawValue, type: "checkboxes", autocomplete: "off",
                            options: area.allPermissions.map { ($0, $0) }, checked: editing?.permissions[area] ?? [])
                    }, buttons: [("Save policy", "save-policy")])
        } catch {
            guard let message = Self.refusal(error) else { throw error }
            page.paragraph(message, class: "error")
        }

        page.subheading("Role assignments")
        do {
            let scope = ResourceScope.vault(resourceGroup: vault.group, RoleScope(vault: vault.name))
            let assignments = try await services.resources.roleAssignments(grants, at: scope, filter: .init())
            var rows: [[HTMLPage.Cell]] = []
            for assignment in assignments.sorted(by: { $0.created < $1.created }) {
                let principal = await describe(assignment.principalId)
                var cells: [HTMLPage.Cell] = [
                    .text(principal.name), .text(principal.type), .text(assignment.role?.name ?? assignment.roleId),
                    .text(Self.describe(assignment.scope)),
                ]
                if case .vault(_, let target) = assignment.scope {
                    cells.append(
                        .button("Remove", action: "\(base)/roles/remove", csrf: csrf, hidden: ["id": assignment.id, "scope": target.description]))
                } else {
                    cells.append(.text("inherited"))
                }
                rows.append(cells)
            }
            if rows.isEmpty { page.paragraph("None.") } else { page.table(headers: ["Principal", "Type", "Role", "Scope", ""], rows: rows) }
            page.subheading("Add a role assignment")
            page.form(
                action: "\(base)/roles", csrf: csrf, hidden: [:],
                fields: [
                    .init(
                        label: "User, group or application (user principal name, name, client id or object id)", name: "principal", type: "text",
                        autocomplete: "off"),
                    .init(label: "Role", name: "role", type: "select", autocomplete: "off", options: RoleDefinition.builtIn.map { ($0.id, $0.name) }),
                    .init(
                        label: "Only this object (optional: secrets/NAME, keys/NAME or certificates/NAME)", name: "object", type: "text",
                        autocomplete: "off", required: false),
                ], buttons: [("Assign role", "assign-role")])
        } catch {
            guard let message = Self.refusal(error) else { throw error }
            page.paragraph(message, class: "error")
        }
        return page.response(status: .ok)
    }

    /// Gives a principal exactly the permissions checked (a new policy, or a changed one): `az keyvault set-policy`.
    func setPolicy(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let form = try SignInPages.checkedForm(request, session: person.session)
        let vault = try await accessedVault(request)
        let objectId = try await principalId(form["principal"])
        var permissions: [PermissionArea: Set<String>] = [:]
        for area in PermissionArea.allCases {
            permissions[area] = Set(area.allPermissions.filter { form["\(area.rawValue).\($0)"] == "on" })
        }
        guard permissions.values.contains(where: { !$0.isEmpty }) else {
            throw CoffreError.badParameter("Choose at least one permission, or remove the policy.")
        }
        let policy = AccessPolicy(tenantId: services.tokens.tenantId, objectId: objectId, permissions: permissions)
        let grants = try await services.resources.authorization.grants(of: person.caller)
        _ = try await services.resources.updateAccessPolicies(grants, group: vault.group, name: vault.name.value, .replace, [policy])
        return backToAccess(vault)
    }

    /// Removes a principal's access policy (all its permissions).
    func removePolicy(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let form = try SignInPages.checkedForm(request, session: person.session)
        let vault = try await accessedVault(request)
        let objectId = (form["principal"] ?? "").lowercased()
        let grants = try await services.resources.authorization.grants(of: person.caller)
        let policies = vault.accessPolicies.filter { $0.objectId == objectId }
        _ = try await services.resources.updateAccessPolicies(grants, group: vault.group, name: vault.name.value, .remove, policies)
        return backToAccess(vault)
    }

    /// Assigns a built-in role on the vault or one of its objects: `az role assignment create`.
    func assignRole(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let form = try SignInPages.checkedForm(request, session: person.session)
        let vault = try await accessedVault(request)
        let objectId = try await principalId(form["principal"])
        let object = (form["object"] ?? "").trimmingCharacters(in: .whitespaces)
        let target = try RoleScope(parsing: "/vaults/\(vault.name)" + (object.isEmpty ? "" : "/" + object))
        let grants = try await services.resources.authorization.grants(of: person.caller)
        _ = try await services.resources.assignRole(
            grants, id: SecureRandom.uuid(), at: .vault(resourceGroup: vault.group, target), roleDefinitionId: form["role"] ?? "",
            principalId: objectId, principalType: await describe(objectId).type)
        return backToAccess(vault)
    }

    /// Removes a role assignment made on the vault or one of its objects: `az role assignment delete`.
    func removeRoleAssignment(_ request: ConsoleRequest, _ person: ConsolePerson) async throws -> Response {
        let form = try SignInPages.checkedForm(request, session: person.session)
        let vault = try await accessedVault(request)
        let target = try RoleScope(parsing: form["scope"] ?? "")
        guard target.vault == vault.name else { throw CoffreError.badParameter("That role assignment is not on this vault.") }
        let grants = try await services.resources.authorization.grants(of: person.caller)
        let id = form["id"] ?? ""
        guard try await services.resources.deleteRoleAssignment(grants, id: id, at: .vault(resourceGroup: vault.group, target)) != nil else {
            throw ResourceManagerError.roleAssignmentNotFound(id)
        }
        return backToAccess(vault)
    }

    // MARK: - Helpers

    /// The vault of the path, noted in the request's audit record.
    func accessedVault(_ request: ConsoleRequest) async throws -> VaultRecord {
        let vault = try await services.vaults.get(try VaultName(request.parameter("vault")))
        request.audit?.note {
            $0.vault = vault.name
            $0.objectId = addressing.vaultURL(vault.name)
        }
        return vault
    }

    func backToAccess(_ vault: VaultRecord) -> Response {
        Response(status: .seeOther, headers: [.location: "/vaults/\(vault.name)/access", .cacheControl: "no-store"])
    }

    /// The object id a form names: a user, group or application of the directory (by user principal name, name, client id
    /// or object id), or the object id (a GUID) of a principal of a trusted external issuer.
    func principalId(_ reference: String?) async throws -> String {
        let reference = (reference ?? "").trimmingCharacters(in: .whitespaces)
        guard !reference.isEmpty else { throw CoffreError.badParameter("Name a user, group or application.") }
        let objectId = try await services.directory.objectId(of: reference)
        guard try await services.directory.exists(objectId: objectId) || ResourceManager.isGUID(objectId) else {
            throw CoffreError.badParameter("No user, group or application is called '\(reference)'.")
        }
        return objectId
    }

    /// How a principal is shown: a user by user principal name, a group or an application by name, with its type as
    /// role assignments name it (`User`, `Group`, `ServicePrincipal`).
    func describe(_ objectId: String) async -> (name: String, type: String) {
        if let user = try? await services.directory.users.get(objectId: objectId) { return (user.userPrincipalName, "User") }
        if let group = try? await services.directory.groups.get(objectId: objectId) { return (group.displayName, "Group") }
        if let application = try? await services.directory.principals.find(objectId), application.objectId == objectId {
            return (application.displayName, "ServicePrincipal")
        }
        return (objectId, "Unknown")
    }

    /// A role assignment's scope as people read it.
    static func describe(_ scope: ResourceScope) -> String {
        switch scope {
        case .subscription: "the subscription (inherited)"
        case .resourceGroup(let group): "resource group \(group) (inherited)"
        case .vault(_, let target): target.object.map { "\($0.kind.collection)/\($0.name)" } ?? "this vault"
        }
    }

    /// The message of a refusal that names what is missing (a data-plane permission, an ARM action), or nil for any
    /// other error.
    static func refusal(_ error: any Error) -> String? {
        switch error {
        case CoffreError.forbidden(_, let message): message
        case let error as ResourceManagerError:
            if case .authorizationFailed = error { error.description } else { nil }
        default: nil
        }
    }
}
