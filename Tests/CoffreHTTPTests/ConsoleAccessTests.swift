import CoffreAuth
import CoffreCore
import CoffreDirectory
import CoffreModel
import CoffreServer
import Foundation
import HTTPTypes
import Testing

@testable import CoffreHTTP

/// The console's access policy and role assignment editors through the router: changes are ARM's operations,
/// authorised by the person's roles, and the data plane applies them to the next request.
@Suite struct ConsoleAccessTests {
    typealias Browser = SignInTests.Browser

    /// A person (ivy, signed in) and an application `app` with its token; `role` is ivy's role on `scope`, if any.
    struct Setup {
        var h: Harness
        var browser: Browser
        var appToken: String
        var appObjectId: String
    }

    func setUp(role: String?, scope: String = "/vaults/default") async throws -> Setup {
        var (h, browser) = try await ConsoleTests().setUp(secrets: ["list"])
        if let role {
            let assigned = try await h.admin(
                .post, "/coffre/v1/roleassignments", json: ["role": role, "assignee": "ivy@example.test", "scope": scope],
                host: SignInTests.authority)
            #expect(assigned.status == .created, "\(assigned.text)")
        }
        let app = try await h.admin(.post, "/coffre/v1/principals", json: ["name": "billing-app"], host: SignInTests.authority)
        let clientId = try #require(app.json["clientId"] as? String)
        let principal = try #require(try await h.server.services.principals.get(clientId: clientId))
        let token = try await h.server.services.tokens.managedIdentity(for: principal, resource: "https://vault.localhost:8443").accessToken
        _ = try await ConsoleTests().signIn(&browser)
        return Setup(h: h, browser: browser, appToken: token, appObjectId: principal.objectId)
    }

    func appReads(_ setup: Setup, vault: String = "default") async throws -> HTTPResponse.Status {
        try await setup.h.send(.get, "/secrets/db-password?api-version=7.4", host: "\(vault).vault.localhost:8443", token: setup.appToken).status
    }

    @Test func withoutARoleThePageSaysWhichActionIsMissing() async throws {
        var setup = try await setUp(role: nil)
        let page = try await setup.browser.send(.get, "/vaults/default/access")
        #expect(page.status == .ok)
        #expect(page.text.contains("does not have authorization to perform action &#39;Microsoft.KeyVault/vaults/read&#39;"))
        #expect(page.text.contains("&#39;Microsoft.Authorization/roleAssignments/read&#39;"))
        let csrf = try #require(Browser.hidden("csrf", in: page.text))
        let refused = try await setup.browser.send(
            .post, "/vaults/default/access/policies", form: ["csrf": csrf, "principal": "billing-app", "secrets.get": "on"])
        #expect(refused.status == .forbidden && refused.text.contains("Microsoft.KeyVault/vaults/accessPolicies/write"))
        #expect(try await appReads(setup) == .forbidden)
        let vault = try await setup.h.server.services.vaults.get(try VaultName("default"))
        #expect(!vault.accessPolicies.contains { $0.objectId == setup.appObjectId })
    }

    @Test func anOwnerAddsChangesAndRemovesAPolicyThatTheDataPlaneApplies() async throws {
        var setup = try await setUp(role: "Owner")
        let page = try await setup.browser.send(.get, "/vaults/default/access")
        #expect(page.status == .ok && page.text.contains("ivy@example.test") && page.text.contains("Save policy"))
        let csrf = try #require(Browser.hidden("csrf", in: page.text))
        #expect(try await appReads(setup) == .forbidden)

        // Added by the application's name, with get and list.
        let added = try await setup.browser.send(
            .post, "/vaults/default/access/policies", form: ["csrf": csrf, "principal": "billing-app", "secrets.get": "on", "secrets.list": "on"])
        #expect(added.status == .seeOther && added.headers[.location] == "/vaults/default/access")
        #expect(try await appReads(setup) == .ok)
        let listed = try await setup.browser.send(.get, "/vaults/default/access")
        #expect(listed.text.contains("billing-app") && listed.text.contains("ServicePrincipal") && listed.text.contains("get, list"))

        // Changed by its object id: the form shows what it holds, and the boxes left unchecked are taken away.
        let editing = try await setup.browser.send(.get, "/vaults/default/access?principal=\(setup.appObjectId)")
        #expect(
            editing.text.contains("name=\"secrets.get\" value=\"on\" checked") && !editing.text.contains("name=\"secrets.set\" value=\"on\" checked"))
        let changed = try await setup.browser.send(
            .post, "/vaults/default/access/policies", form: ["csrf": csrf, "principal": setup.appObjectId, "secrets.list": "on"])
        #expect(changed.status == .seeOther)
        #expect(try await appReads(setup) == .forbidden)
        var vault = try await setup.h.server.services.vaults.get(try VaultName("default"))
        #expect(vault.accessPolicies.first { $0.objectId == setup.appObjectId }?.permissions[.secrets] == ["list"])

        // Nothing checked is a mistake, not a removal; removing takes the whole policy away.
        let empty = try await setup.browser.send(.post, "/vaults/default/access/policies", form: ["csrf": csrf, "principal": "billing-app"])
        #expect(empty.status == .badRequest)
        let unknown = try await setup.browser.send(
            .post, "/vaults/default/access/policies", form: ["csrf": csrf, "principal": "nobody@example.test", "secrets.get": "on"])
        #expect(unknown.status == .badRequest && unknown.text.contains("No user, group or application is called"))
        let removed = try await setup.browser.send(
            .post, "/vaults/default/access/policies/remove", form: ["csrf": csrf, "principal": setup.appObjectId])
        #expect(removed.status == .seeOther)
        vault = try await setup.h.server.services.vaults.get(try VaultName("default"))
        #expect(!vault.accessPolicies.contains { $0.objectId == setup.appObjectId })
        let records = setup.h.audit.recorded.filter { $0.properties.requestUri.hasSuffix("/access/policies") && $0.stage == nil }
        #expect(records.map(\.properties.httpStatusCode) == [303, 303, 400, 400] && records.allSatisfy { $0.resourceId == "/vaults/default" })
    }

    @Test func aGroupsPolicyAppliesToItsMembers() async throws {
        var setup = try await setUp(role: "Key Vault Contributor")
        let group = try await setup.h.server.services.directory.groups.create(name: "billing")
        _ = try await setup.h.server.services.directory.addMember(setup.appObjectId, to: "billing")
        let page = try await setup.browser.send(.get, "/vaults/default/access")
        let csrf = try #require(Browser.hidden("csrf", in: page.text))
        let added = try await setup.browser.send(
            .post, "/vaults/default/access/policies", form: ["csrf": csrf, "principal": "billing", "secrets.get": "on"])
        #expect(added.status == .seeOther)
        #expect(try await appReads(setup) == .ok)
        let listed = try await setup.browser.send(.get, "/vaults/default/access")
        #expect(listed.text.contains("<td>billing</td><td>Group</td>"))
        // Key Vault Contributor manages policies but may not assign roles: the page says so.
        let role = try await setup.browser.send(
            .post, "/vaults/default/access/roles", form: ["csrf": csrf, "principal": group.objectId, "role": RoleDefinition.owner.id])
        #expect(role.status == .forbidden && role.text.contains("Microsoft.Authorization/roleAssignments/write"))
    }

    @Test func roleAssignmentsOnAnRBACVaultAndItsObjects() async throws {
        var setup = try await setUp(role: nil)
        let created = try await setup.h.admin(
            .post, "/coffre/v1/vaults", json: ["name": "rbac-vault", "rbacAuthorization": true], host: SignInTests.authority)
        #expect(created.status == .created, "\(created.text)")
        _ = try await setup.h.send(
            .put, "/secrets/db-password?api-version=7.4", host: "rbac-vault.vault.localhost:8443", token: try await setup.h.adminToken(),
            json: ["value": "v"])
        let assigned = try await setup.h.admin(
            .post, "/coffre/v1/roleassignments", json: ["role": "Owner", "assignee": "ivy@example.test", "scope": "/vaults/rbac-vault"],
            host: SignInTests.authority)
        #expect(assigned.status == .created)

        let page = try await setup.browser.send(.get, "/vaults/rbac-vault/access")
        #expect(page.text.contains("Azure role-based access control") && page.text.contains("<td>Owner</td>"))
        let csrf = try #require(Browser.hidden("csrf", in: page.text))
        let secretsUser = try RoleDefinition.named("Key Vault Secrets User")
        #expect(try await appReads(setup, vault: "rbac-vault") == .forbidden)
        let onObject = try await setup.browser.send(
            .post, "/vaults/rbac-vault/access/roles",
            form: ["csrf": csrf, "principal": "billing-app", "role": secretsUser.id, "object": "secrets/db-password"])
        #expect(onObject.status == .seeOther)
        #expect(try await appReads(setup, vault: "rbac-vault") == .ok)
        let listed = try await setup.browser.send(.get, "/vaults/rbac-vault/access")
        #expect(listed.text.contains("<td>Key Vault Secrets User</td><td>secrets/db-password</td>"))

        let assignment = try #require(
            try await setup.h.server.services.roleAssignments.list(in: try VaultName("rbac-vault")).first { $0.principalId == setup.appObjectId })
        let removed = try await setup.browser.send(
            .post, "/vaults/rbac-vault/access/roles/remove",
            form: ["csrf": csrf, "id": assignment.id, "scope": "/vaults/rbac-vault/secrets/db-password"])
        #expect(removed.status == .seeOther)
        #expect(try await appReads(setup, vault: "rbac-vault") == .forbidden)
        let again = try await setup.browser.send(
            .post, "/vaults/rbac-vault/access/roles/remove",
            form: ["csrf": csrf, "id": assignment.id, "scope": "/vaults/rbac-vault/secrets/db-password"])
        #expect(again.status == .notFound)
    }
}
