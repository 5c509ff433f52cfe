import CoffreAuth
import CoffreCore
import CoffreDirectory
import CoffreModel
import CoffreServer
import Foundation
import HTTPTypes
import Testing

@testable import CoffreHTTP

/// The console's objects and vaults through the router: change, delete, recover and purge objects; key, certificate
/// and pending-operation pages; the expiry timeline; vaults and pools as resources; refusals naming what is missing.
@Suite struct ConsoleObjectsTests {
    typealias Browser = SignInTests.Browser

    func signedIn(secrets: [String], keys: [String] = [], certificates: [String] = [], development: Bool = false) async throws
        -> (Harness, Browser, csrf: String)
    {
        let h = try await Harness { $0.development = development }
        _ = try await h.server.services.directory.users.create(userPrincipalName: "ivy@example.test", password: "pass-word-1")
        let policy = try await h.send(
            .put, "/coffre/v1/vaults/default/policies/ivy@example.test", host: SignInTests.authority, token: try await h.adminToken(),
            json: ["permissions": ["secrets": secrets, "keys": keys, "certificates": certificates]])
        #expect(policy.status == .ok, "\(policy.text)")
        var browser = Browser(h: h)
        _ = try await ConsoleTests().signIn(&browser)
        let csrf = try #require(Browser.hidden("csrf", in: try await browser.send(.get, "/").text))
        return (h, browser, csrf)
    }

    @Test func aSecretIsChangedDeletedRecoveredAndPurged() async throws {
        var (h, browser, csrf) = try await signedIn(secrets: ["list", "set", "delete", "recover", "purge"])
        let set = try await h.admin(.put, "/secrets/db-password?api-version=7.4", json: ["value": "hunter2-value"])
        let version = try #require((set.json["id"] as? String)?.split(separator: "/").last.map(String.init))
        let page = try await browser.send(.get, "/vaults/default/secrets/db-password/versions/\(version)")
        #expect(page.status == .ok && page.text.contains("id=\"enabled\"") && !page.text.contains("hunter2-value"))

        let saved = try await browser.send(
            .post, "/vaults/default/secrets/db-password/versions/\(version)",
            form: ["csrf": csrf, "tags": "team=ops, env=prod", "expires": "2030-01-31T12:00", "notBefore": "", "contentType": "text/plain"])
        #expect(saved.status == .seeOther && saved.headers[.location] == "/vaults/default/secrets/db-password/versions/\(version)")
        // Disabled: only its properties can be read, through the versions list.
        let listed = try await h.admin(.get, "/secrets/db-password/versions?api-version=7.4")
        let read = try #require((listed.json["value"] as? [[String: Any]])?.first)
        #expect(read["tags"] as? [String: String] == ["team": "ops", "env": "prod"] && read["contentType"] as? String == "text/plain")
        let attributes = try #require(read["attributes"] as? [String: Any])
        #expect(attributes["enabled"] as? Bool == false && attributes["exp"] as? Int == 1_896_091_200)
        let shown = try await browser.send(.get, "/vaults/default/secrets/db-password/versions/\(version)")
        #expect(shown.text.contains("value=\"2030-01-31T12:00\"") && shown.text.contains("value=\"env=prod, team=ops\""))
        #expect(try await browser.send(.post, "/vaults/default/secrets/db-password/versions/\(version)", form: ["tags": "x=y"]).status == .forbidden)
        let mistake = try await browser.send(
            .post, "/vaults/default/secrets/db-password/versions/\(version)", form: ["csrf": csrf, "tags": "nonsense"])
        #expect(mistake.status == .badRequest && mistake.text.contains("Tags are written name=value") && mistake.text.contains("Signed in as"))

        let deleted = try await browser.send(.post, "/vaults/default/secrets/db-password/delete", form: ["csrf": csrf])
        #expect(deleted.status == .seeOther && deleted.headers[.location] == "/vaults/default/deleted")
        let bin = try await browser.send(.get, "/vaults/default/deleted")
        #expect(bin.status == .ok && bin.text.contains("action=\"/vaults/default/deleted/secrets/db-password/recover\""))
        let recovered = try await browser.send(.post, "/vaults/default/deleted/secrets/db-password/recover", form: ["csrf": csrf])
        #expect(recovered.headers[.location] == "/vaults/default/secrets/db-password")
        #expect(try await h.admin(.get, "/secrets/db-password/versions?api-version=7.4").status == .ok)
        _ = try await browser.send(.post, "/vaults/default/secrets/db-password/delete", form: ["csrf": csrf])
        #expect(try await browser.send(.post, "/vaults/default/deleted/secrets/db-password/purge", form: ["csrf": csrf]).status == .seeOther)
        #expect(try await h.admin(.get, "/deletedsecrets/db-password?api-version=7.4").status == .notFound)
        let records = h.audit.recorded.filter { $0.resourceId == "/vaults/default" }.map(\.operationName)
        #expect(["SecretUpdate", "SecretDelete", "SecretRecover", "SecretPurge"].allSatisfy(records.contains))
    }

    @Test func expiryIsMarkedOnTheVaultsClock() async throws {
        var (h, browser, _) = try await signedIn(secrets: ["list", "get"], development: true)
        let expires = h.clock.now + 2 * 86_400
        let set = try await h.admin(.put, "/secrets/soon?api-version=7.4", json: ["value": "v", "attributes": ["exp": expires]])
        let version = try #require((set.json["id"] as? String)?.split(separator: "/").last.map(String.init))
        #expect(!(try await browser.send(.get, "/vaults/default").text.contains("(expired)")))
        try #require(h.server.services.development).clock.shift(by: 3 * 86_400, vault: try VaultName("default"))
        #expect(try await browser.send(.get, "/vaults/default").text.contains("(expired)"))
        #expect(try await browser.send(.get, "/vaults/default/secrets/soon/versions/\(version)").text.contains("(expired)"))
        #expect(try await browser.send(.get, "/vaults/default/expiry").text.contains("(expired)"))
    }

    @Test func aRefusedActionNamesTheMissingPermission() async throws {
        var (h, browser, csrf) = try await signedIn(secrets: ["list", "get"])
        _ = try await h.admin(.put, "/secrets/kept?api-version=7.4", json: ["value": "v"])
        let refused = try await browser.send(.post, "/vaults/default/secrets/kept/delete", form: ["csrf": csrf])
        #expect(refused.status == .forbidden && refused.text.contains("does not have secrets delete permission"))
        #expect(try await h.admin(.get, "/secrets/kept?api-version=7.4").status == .ok)
        let record = try #require(h.audit.recorded.last { $0.operationName == "SecretDelete" })
        #expect(record.properties.httpStatusCode == 403)
        let bin = try await browser.send(.get, "/vaults/default/deleted")
        #expect(bin.status == .ok && bin.text.contains("does not have keys list permission"))
        // Vault settings are Azure Resource Manager's: the refusal names the role action.
        let settings = try await browser.send(.get, "/vaults/default/settings")
        #expect(settings.status == .forbidden && settings.text.contains("Microsoft.KeyVault/vaults/read"))
    }

    @Test func keysShowTheirPublicJWKAndCertificatesTheirDetailsChainAndOperation() async throws {
        var (h, browser, csrf) = try await signedIn(
            secrets: ["list"], keys: ["get", "list", "update", "create"], certificates: ["get", "list", "update", "delete", "create"])
        let madeKey = try await browser.send(
            .post, "/vaults/default/keys", form: ["csrf": csrf, "keyName": "made", "keyType": "RSA", "keySize": "P-256"])
        #expect(madeKey.status == .seeOther && madeKey.headers[.location] == "/vaults/default/keys/made", "\(madeKey.text)")
        let made = try await h.admin(.get, "/keys/made?api-version=7.4")
        #expect((made.json["key"] as? [String: Any])?["kty"] as? String == "RSA")
        let madeCertificate = try await browser.send(
            .post, "/vaults/default/certificates",
            form: ["csrf": csrf, "certificateName": "made-cert", "subject": "CN=made.example.test", "validityMonths": "3", "issuer": "Self"])
        #expect(madeCertificate.headers[.location] == "/vaults/default/certificates/made-cert", "\(madeCertificate.text)")
        #expect(try await h.admin(.get, "/certificates/made-cert?api-version=7.4").status == .ok)
        let key = try await h.admin(.post, "/keys/signing/create?api-version=7.4", json: ["kty": "EC", "crv": "P-256"])
        let kid = try #require((key.json["key"] as? [String: Any])?["kid"] as? String)
        let keyVersion = String(kid.split(separator: "/").last!)
        let keyPage = try await browser.send(.get, "/vaults/default/keys/signing/versions/\(keyVersion)")
        #expect(keyPage.status == .ok && keyPage.text.contains("&quot;crv&quot; : &quot;P-256&quot;") && keyPage.text.contains(kid))
        let changed = try await browser.send(
            .post, "/vaults/default/keys/signing/versions/\(keyVersion)", form: ["csrf": csrf, "enabled": "on", "keyOps": "sign, verify"])
        #expect(changed.status == .seeOther)
        let read = try await h.admin(.get, "/keys/signing?api-version=7.4")
        #expect((read.json["key"] as? [String: Any])?["key_ops"] as? [String] == ["sign", "verify"])
        #expect(try await browser.send(.post, "/vaults/default/keys/signing/rotate", form: ["csrf": csrf]).status == .forbidden)

        let policy: [String: Any] = [
            "issuer": ["name": "Self"],
            "x509_props": [
                "subject": "CN=www.example.test", "sans": ["dns_names": ["www.example.test", "api.example.test"]], "validity_months": 12,
            ],
        ]
        _ = try await h.admin(.post, "/certificates/site/create?api-version=7.4", json: ["policy": policy])
        let certificate = try await h.admin(.get, "/certificates/site?api-version=7.4")
        let version = try #require((certificate.json["id"] as? String)?.split(separator: "/").last.map(String.init))
        let page = try await browser.send(.get, "/vaults/default/certificates/site/versions/\(version)")
        #expect(page.status == .ok && page.text.contains("CN=www.example.test") && page.text.contains("DNS:www.example.test, DNS:api.example.test"))
        #expect(page.text.contains("Thumbprint (SHA-256)") && page.text.contains("(self-signed)") && page.text.contains("<h2>Chain</h2>"))
        let cer = try #require(certificate.json["cer"] as? String)
        #expect(page.text.contains(String(cer.prefix(64))) && page.text.contains("-----BEGIN CERTIFICATE-----"))
        let timeline = try await browser.send(.get, "/vaults/default/expiry")
        #expect(timeline.status == .ok && timeline.text.contains("<svg") && timeline.text.contains("certificate site"))
        let csp = try #require(timeline.headers[.contentSecurityPolicy])
        #expect(!csp.contains("unsafe") && !timeline.text.contains("style=\""))

        // A certificate signed elsewhere waits in its operation, which the console shows and cancels.
        _ = try await h.admin(
            .post, "/certificates/outside/create?api-version=7.4",
            json: ["policy": ["issuer": ["name": "Unknown"], "x509_props": ["subject": "CN=outside.example.test"]]])
        let vault = try await browser.send(.get, "/vaults/default")
        #expect(vault.text.contains("href=\"/vaults/default/certificates/outside/pending\""))
        let pending = try await browser.send(.get, "/vaults/default/certificates/outside/pending")
        #expect(pending.status == .ok && pending.text.contains("inProgress") && pending.text.contains("BEGIN CERTIFICATE REQUEST"))
        #expect(try await browser.send(.post, "/vaults/default/certificates/outside/pending/cancel", form: ["csrf": csrf]).status == .seeOther)
        let operation = try await h.admin(.get, "/certificates/outside/pending?api-version=7.4")
        #expect(operation.json["cancellation_requested"] as? Bool == true)
    }

    @Test func vaultsAreCreatedChangedDeletedRecoveredAndPurgedAsResources() async throws {
        var (h, browser, csrf) = try await signedIn(secrets: ["list"])
        let create: [String: String] = ["csrf": csrf, "name": "teamvault", "group": "default", "retentionDays": "7"]
        let refused = try await browser.send(.post, "/vaults", form: create)
        #expect(refused.status == .forbidden && refused.text.contains("Microsoft.KeyVault/vaults/write"))
        #expect(try await h.server.services.vaults.list().contains { $0.name.value == "teamvault" } == false)

        // Contributor on the subscription, given by the administrator through ARM.
        let arm = try await ARMClient(h)
        let user = try #require(try await h.server.services.directory.users.get(userPrincipalName: "ivy@example.test"))
        let assigned = try await arm.send(
            .put, "\(arm.base)/providers/Microsoft.Authorization/roleAssignments/\(UUID().uuidString.lowercased())",
            json: [
                "properties": [
                    "roleDefinitionId": "\(arm.base)/providers/Microsoft.Authorization/roleDefinitions/b24988ac-6180-42a0-ab88-20f7382dd24c",
                    "principalId": user.objectId, "principalType": "User",
                ]
            ], version: "2022-04-01")
        #expect(assigned.status == .created, "\(assigned.text)")

        let created = try await browser.send(.post, "/vaults", form: create)
        #expect(created.status == .seeOther && created.headers[.location] == "/vaults/teamvault/settings", "\(created.text)")
        let vault = try await h.server.services.vaults.get(VaultName("teamvault"))
        #expect(vault.retentionDays == 7 && vault.accessPolicies.map(\.objectId) == [user.objectId], "the creator may use it")
        #expect(try await browser.send(.post, "/vaults", form: create).status == .conflict, "a second creation changes nothing")
        let list = try await browser.send(.get, "/")
        #expect(list.text.contains("href=\"/vaults/teamvault\"") && list.text.contains("href=\"/vaults/teamvault/settings\""))

        let saved = try await browser.send(
            .post, "/vaults/teamvault/settings", form: ["csrf": csrf, "retentionDays": "30", "deployment": "on", "tags": "cost=42"])
        #expect(saved.status == .seeOther)
        let changed = try await h.server.services.vaults.get(VaultName("teamvault"))
        #expect(changed.retentionDays == 30 && changed.resource?.enabledForDeployment == true && changed.resource?.tags == ["cost": "42"])
        let settings = try await browser.send(.get, "/vaults/teamvault/settings")
        #expect(settings.status == .ok && settings.text.contains("cost=42"))

        #expect(try await browser.send(.post, "/vaults/teamvault/delete", form: ["csrf": csrf]).headers[.location] == "/deleted-vaults")
        let deleted = try await browser.send(.get, "/deleted-vaults")
        #expect(deleted.status == .ok && deleted.text.contains("action=\"/deleted-vaults/teamvault/recover\""))
        let recovered = try await browser.send(.post, "/deleted-vaults/teamvault/recover", form: ["csrf": csrf, "group": "default"])
        #expect(recovered.status == .seeOther)
        #expect(try await h.server.services.vaults.get(VaultName("teamvault")).name.value == "teamvault")
        _ = try await browser.send(.post, "/vaults/teamvault/delete", form: ["csrf": csrf])
        #expect(try await browser.send(.post, "/deleted-vaults/teamvault/purge", form: ["csrf": csrf, "location": "local"]).status == .seeOther)
        #expect(try await h.server.services.vaults.deletedVaults().isEmpty)

        let pool = try await browser.send(.post, "/pools", form: ["csrf": csrf, "name": "teampool", "group": "default", "retentionDays": "7"])
        #expect(pool.status == .seeOther && pool.headers[.location] == "/pools/teampool", "\(pool.text)")
        let pools = try await browser.send(.get, "/pools")
        #expect(pools.text.contains("href=\"/pools/teampool\"") && pools.text.contains("Not activated"))
        let page = try await browser.send(.get, "/pools/teampool")
        #expect(page.status == .ok && page.text.contains(user.objectId))
        #expect(try await browser.send(.post, "/pools/teampool/delete", form: ["csrf": csrf, "group": "default"]).headers[.location] == "/pools")
        #expect(!(try await browser.send(.get, "/pools")).text.contains("teampool"))
    }
}
