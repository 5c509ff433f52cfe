import CoffreAuth
import CoffreCore
import CoffreDirectory
import CoffreModel
import CoffreServer
import Foundation
import HTTPTypes
import Testing

@testable import CoffreHTTP

/// The web console through the router (no socket): sign-in, views and actions authorised as the person, page security.
@Suite struct ConsoleTests {
    typealias Browser = SignInTests.Browser

    /// A harness with a person who may do `secrets` (and list keys when `keys`), and a secret, a key in the default vault.
    func setUp(secrets: [String], keys: [String] = []) async throws -> (Harness, Browser) {
        let h = try await Harness()
        _ = try await h.server.services.directory.users.create(userPrincipalName: "ivy@example.test", password: "pass-word-1")
        let policy = try await h.send(
            .put, "/coffre/v1/vaults/default/policies/ivy@example.test", host: SignInTests.authority, token: try await h.adminToken(),
            json: ["permissions": ["secrets": secrets, "keys": keys]])
        #expect(policy.status == .ok, "\(policy.text)")
        _ = try await h.admin(.put, "/secrets/db-password?api-version=7.4", json: ["value": "hunter2-value", "tags": ["team": "ops"]])
        _ = try await h.admin(.post, "/keys/signing/create?api-version=7.4", json: ["kty": "EC", "crv": "P-256"])
        return (h, Browser(h: h))
    }

    func signIn(_ browser: inout Browser, returnTo path: String = "/") async throws -> Harness.Reply {
        let page = try await browser.send(.get, "/signin?return=\(path)")
        let csrf = try #require(Browser.hidden("csrf", in: page.text))
        return try await browser.send(
            .post, "/signin", form: ["csrf": csrf, "username": "ivy@example.test", "password": "pass-word-1", "return": path])
    }

    @Test func aVisitorIsSentToSignInAndBack() async throws {
        var (_, browser) = try await setUp(secrets: ["list"])
        let home = try await browser.send(.get, "/")
        #expect(home.status == .seeOther && home.headers[.location] == "/signin?return=%2F")
        let page = try await browser.send(.get, "/vaults/default/secrets/db-password")
        #expect(page.headers[.location] == "/signin?return=%2Fvaults%2Fdefault%2Fsecrets%2Fdb-password")
        // A form posted without a session changes nothing and goes to sign in.
        let post = try await browser.send(.post, "/vaults/default/secrets", form: ["name": "x", "value": "y"])
        #expect(post.status == .seeOther && post.headers[.location] == "/signin?return=%2F")
        let signedIn = try await signIn(&browser)
        #expect(signedIn.status == .seeOther && signedIn.headers[.location] == "/")
        let vaults = try await browser.send(.get, "/")
        #expect(vaults.status == .ok && vaults.text.contains("href=\"/vaults/default\"") && vaults.text.contains("ivy@example.test"))
    }

    @Test func everyPageIsLockedDown() async throws {
        var (_, browser) = try await setUp(secrets: ["list"])
        _ = try await signIn(&browser)
        for path in ["/", "/vaults/default", "/vaults/default/secrets/db-password", "/vaults/default/keys/signing"] {
            let page = try await browser.send(.get, path)
            let policy = try #require(page.headers[.contentSecurityPolicy])
            #expect(policy.hasPrefix("default-src 'none'; style-src 'nonce-") && !policy.contains("script-src"), "\(path)")
            #expect(policy.contains("frame-ancestors 'none'") && policy.contains("form-action 'self'"))
            #expect(page.headers[HTTPField.Name("X-Frame-Options")!] == "DENY" && page.headers[.cacheControl] == "no-store")
            #expect(!page.text.contains("<script"))
        }
    }

    @Test func aListerSeesAttributesButNoValueAndIsToldWhatIsMissing() async throws {
        var (h, browser) = try await setUp(secrets: ["list"])
        _ = try await signIn(&browser)
        let vault = try await browser.send(.get, "/vaults/default")
        #expect(vault.status == .ok)
        #expect(vault.text.contains("href=\"/vaults/default/secrets/db-password\"") && vault.text.contains("team=ops"))
        #expect(vault.text.contains("does not have keys list permission on key vault &#39;default"))
        let secret = try await browser.send(.get, "/vaults/default/secrets/db-password")
        #expect(secret.status == .ok && secret.text.contains("Reveal") && !secret.text.contains("hunter2-value"))
        let csrf = try #require(Browser.hidden("csrf", in: secret.text))
        let reveal = try await browser.send(.post, "/vaults/default/secrets/db-password/reveal", form: ["csrf": csrf, "version": ""])
        #expect(reveal.status == .forbidden && reveal.text.contains("does not have secrets get permission"))
        #expect(!reveal.text.contains("hunter2-value"))
        let refused = try #require(h.audit.recorded.last { $0.operationName == "SecretGet" })
        #expect(refused.properties.httpStatusCode == 403 && refused.properties.isAccessPolicyMatch == false)
        #expect(try await browser.send(.get, "/vaults/default/keys/signing").status == .forbidden)
    }

    @Test func revealingAValueIsAuditedAsThePerson() async throws {
        var (h, browser) = try await setUp(secrets: ["list", "get"], keys: ["list"])
        _ = try await signIn(&browser)
        let secret = try await browser.send(.get, "/vaults/default/secrets/db-password")
        let version = try #require(Browser.hidden("version", in: secret.text))
        let csrf = try #require(Browser.hidden("csrf", in: secret.text))
        let forged = try await browser.send(.post, "/vaults/default/secrets/db-password/reveal", form: ["csrf": "forged", "version": version])
        #expect(forged.status == .forbidden && !forged.text.contains("hunter2-value"))
        let reveal = try await browser.send(.post, "/vaults/default/secrets/db-password/reveal", form: ["csrf": csrf, "version": version])
        #expect(reveal.status == .ok && reveal.text.contains("<pre id=\"secret-value\">hunter2-value</pre>"))
        #expect(reveal.headers[.cacheControl] == "no-store")
        let user = try #require(try await h.server.services.directory.users.get(userPrincipalName: "ivy@example.test"))
        let record = try #require(h.audit.recorded.last { $0.operationName == "SecretGet" })
        #expect(record.properties.httpStatusCode == 200 && record.properties.isAccessPolicyMatch == true)
        #expect(record.properties.id == "https://default.vault.localhost:8443/secrets/db-password/\(version)")
        #expect(record.identity?.claim["http://schemas.microsoft.com/identity/claims/objectidentifier"] == user.objectId)
        #expect(record.resourceId == "/vaults/default")
        let key = try await browser.send(.get, "/vaults/default/keys/signing")
        #expect(key.status == .ok && key.text.contains("EC") && key.text.contains("sign"))
    }

    @Test func aSecretCreatedOnThePageIsTheAPIs() async throws {
        var (h, browser) = try await setUp(secrets: ["list", "set"])
        _ = try await signIn(&browser)
        let vault = try await browser.send(.get, "/vaults/default")
        let csrf = try #require(Browser.hidden("csrf", in: vault.text))
        let missing = try await browser.send(.post, "/vaults/default/secrets", form: ["name": "api-token", "value": "v1"])
        #expect(missing.status == .forbidden)
        let created = try await browser.send(
            .post, "/vaults/default/secrets", form: ["csrf": csrf, "name": "api-token", "value": "s3cret value", "contentType": "text/plain"])
        #expect(created.status == .seeOther && created.headers[.location] == "/vaults/default/secrets/api-token")
        let read = try await h.admin(.get, "/secrets/api-token?api-version=7.4")
        #expect(read.json["value"] as? String == "s3cret value" && read.json["contentType"] as? String == "text/plain")
        let page = try await browser.send(.get, "/vaults/default/secrets/api-token")
        #expect(page.status == .ok && page.text.contains("text/plain") && !page.text.contains("s3cret value"))
        let bad = try await browser.send(.post, "/vaults/default/secrets", form: ["csrf": csrf, "name": "no spaces", "value": "v"])
        #expect(bad.status == .badRequest)
    }

    @Test func sessionsEndWhenIdleOrSignedOut() async throws {
        var (h, browser) = try await setUp(secrets: ["list"])
        _ = try await signIn(&browser)
        h.clock.advance(seconds: 600)
        #expect(try await browser.send(.get, "/").status == .ok)
        h.clock.advance(seconds: 600)
        let page = try await browser.send(.get, "/")
        #expect(page.status == .ok, "activity keeps the session")
        h.clock.advance(seconds: SignInSession.idleTimeout + 1)
        #expect(try await browser.send(.get, "/").headers[.location] == "/signin?return=%2F")

        _ = try await signIn(&browser)
        let csrf = try #require(Browser.hidden("csrf", in: try await browser.send(.get, "/").text))
        let cookie = try #require(browser.cookies[SignInPages.sessionCookie])
        let out = try await browser.send(.post, "/signout", form: ["csrf": csrf])
        #expect(out.status == .seeOther && out.headers[.location] == "/signin")
        browser.cookies[SignInPages.sessionCookie] = cookie
        #expect(try await browser.send(.get, "/").status == .seeOther, "the old cookie opens nothing")
    }
}
