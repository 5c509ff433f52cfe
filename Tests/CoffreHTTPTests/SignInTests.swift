import CoffreAuth
import CoffreCrypto
import CoffreDirectory
import CoffreModel
import CoffreServer
import Foundation
import HTTPTypes
import Testing

@testable import CoffreHTTP

/// The token service for people and Coffre's pages, through the router (no socket).
@Suite struct SignInTests {
    static let cli = PublicClient.azureCLI.clientId
    static let authority = "localhost:8443"
    static let arm = "https://management.localhost:8443"
    static let vault = "https://vault.localhost:8443"

    func form(_ fields: [String: String]) -> String {
        fields.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
    }

    func token(_ h: Harness, _ fields: [String: String], tenant: String = "adfs") async throws -> Harness.Reply {
        try await h.send(
            .post, "/\(tenant)/oauth2/v2.0/token", host: Self.authority, headers: [.contentType: "application/x-www-form-urlencoded"],
            rawBody: form(fields))
    }

    func claims(_ jwt: String) throws -> [String: Any] {
        let parsed = try #require(JWT.parse(jwt))
        return try #require(try JSONSerialization.jsonObject(with: Data(parsed.payload)) as? [String: Any])
    }

    func passwordGrant(_ h: Harness, user: String, password: String, resource: String) async throws -> Harness.Reply {
        try await token(
            h,
            [
                "grant_type": "password", "client_id": Self.cli, "username": user, "password": password, "client_info": "1",
                "scope": "\(resource)/.default offline_access openid profile",
                "claims": #"{"access_token": {"xms_cc": {"values": ["CP1"]}}}"#,
            ])
    }

    @Test func cloudMetadataDescribesEveryEndpoint() async throws {
        let h = try await Harness()
        let reply = try await h.send(.get, "/metadata/endpoints?api-version=2022-09-01", host: Self.authority)
        #expect(reply.status == .ok)
        let authentication = try #require(reply.json["authentication"] as? [String: Any])
        #expect(authentication["loginEndpoint"] as? String == "https://localhost:8443/adfs")
        #expect(authentication["audiences"] as? [String] == [Self.arm + "/"])
        #expect(reply.json["resourceManager"] as? String == "https://localhost:8443/")
        #expect(reply.json["microsoftGraphResourceId"] as? String == "https://localhost:8443/")
        let suffixes = try #require(reply.json["suffixes"] as? [String: Any])
        #expect(suffixes["keyVaultDns"] as? String == "vault.localhost:8443")
        #expect(suffixes["mhsmDns"] as? String == "managedhsm.localhost:8443")
        #expect(suffixes["storage"] as? String == "core.localhost:8443")
    }

    @Test func aPasswordSignInGivesWhatMSALKeeps() async throws {
        let h = try await Harness()
        let (user, _) = try await h.server.services.directory.users.create(userPrincipalName: "alice@example.test", password: "pass-word-1")
        _ = try await h.server.services.directory.groups.create(name: "ops")
        _ = try await h.server.services.directory.addMember(user.objectId, to: "ops")
        let reply = try await passwordGrant(h, user: "alice@example.test", password: "pass-word-1", resource: Self.arm + "/")
        #expect(reply.status == .ok, "\(reply.text)")
        #expect(reply.json["scope"] as? String == Self.arm + "//.default")
        let access = try claims(try #require(reply.json["access_token"] as? String))
        #expect(access["aud"] as? String == Self.arm && access["oid"] as? String == user.objectId && access["idtyp"] as? String == "user")
        #expect((access["groups"] as? [String])?.count == 1 && access["upn"] as? String == "alice@example.test")
        let id = try claims(try #require(reply.json["id_token"] as? String))
        #expect(id["aud"] as? String == Self.cli && id["preferred_username"] as? String == "alice@example.test")
        #expect(id["tid"] as? String == h.server.state.identity.tenantId && id["sub"] as? String == user.objectId)
        let encodedInfo = try #require(reply.json["client_info"] as? String)
        let info = try #require(Base64.decode(encodedInfo))
        let clientInfo = try #require(try JSONSerialization.jsonObject(with: Data(info)) as? [String: String])
        #expect(clientInfo == ["uid": user.objectId, "utid": h.server.state.identity.tenantId])
        #expect(reply.headers[.cacheControl] == "no-store")

        let wrong = try await passwordGrant(h, user: "alice@example.test", password: "pass-word-2", resource: Self.arm + "/")
        #expect(wrong.status == .badRequest && wrong.json["error"] as? String == "invalid_grant")
        let stranger = try await token(
            h, ["grant_type": "password", "client_id": "not-a-client", "username": "a", "password": "b", "scope": Self.vault])
        #expect(stranger.json["error"] as? String == "unauthorized_client")
    }

    @Test func refreshTokensRotateAndAReplayEndsTheSignIn() async throws {
        let h = try await Harness()
        _ = try await h.server.services.directory.users.create(userPrincipalName: "bob@example.test", password: "pass-word-1")
        let first = try #require(
            try await passwordGrant(h, user: "bob@example.test", password: "pass-word-1", resource: Self.arm + "/").json["refresh_token"] as? String)
        func refresh(_ token: String) async throws -> Harness.Reply {
            try await self.token(
                h, ["grant_type": "refresh_token", "client_id": Self.cli, "refresh_token": token, "scope": "\(Self.vault)/.default openid"],
                tenant: "organizations")
        }
        let second = try await refresh(first)
        #expect(second.status == .ok)
        let secondAccess = try claims(try #require(second.json["access_token"] as? String))
        #expect(secondAccess["aud"] as? String == Self.vault)
        let secondToken = try #require(second.json["refresh_token"] as? String)
        #expect(secondToken != first)
        // Two processes sharing a cache may both redeem the same token just after it rotated.
        #expect(try await refresh(first).status == .ok)
        h.clock.advance(seconds: 61)
        let replay = try await refresh(first)
        #expect(replay.json["error"] as? String == "invalid_grant")
        #expect(try await refresh(secondToken).json["error"] as? String == "invalid_grant")
        #expect(try await refresh("garbage").json["error"] as? String == "invalid_grant")
    }

    @Test func deletingAUserRevokesItsRefreshTokens() async throws {
        let h = try await Harness()
        _ = try await h.server.services.directory.users.create(userPrincipalName: "carol@example.test", password: "pass-word-1")
        let refresh = try #require(
            try await passwordGrant(h, user: "carol@example.test", password: "pass-word-1", resource: Self.vault).json["refresh_token"] as? String)
        _ = try await h.server.services.directory.users.delete("carol@example.test")
        let reply = try await token(h, ["grant_type": "refresh_token", "client_id": Self.cli, "refresh_token": refresh, "scope": Self.vault])
        #expect(reply.json["error"] as? String == "invalid_grant")
    }

    /// The browser's side of the verification page: cookies kept between requests.
    struct Browser {
        let h: Harness
        var cookies: [String: String] = [:]

        mutating func send(_ method: HTTPRequest.Method, _ path: String, form fields: [String: String]? = nil) async throws -> Harness.Reply {
            var headers: HTTPFields = [:]
            if !cookies.isEmpty { headers[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.joined(separator: "; ") }
            if fields != nil { headers[.contentType] = "application/x-www-form-urlencoded" }
            let body = fields.map {
                $0.map { "\($0.key)=\($0.value.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? "")" }.joined(separator: "&")
            }
            let reply = try await h.send(method, path, host: SignInTests.authority, headers: headers, rawBody: body)
            for header in reply.headers[values: .setCookie] {
                let pair = header.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
                cookies[String(pair[0])] = pair.count == 2 ? String(pair[1]) : ""
            }
            return reply
        }

        static func hidden(_ name: String, in page: String) -> String? {
            guard let range = page.range(of: "name=\"\(name)\" value=\"") else { return nil }
            return String(page[range.upperBound...].prefix { $0 != "\"" })
        }
    }

    @Test func aDeviceCodeIsApprovedOnTheVerificationPage() async throws {
        let h = try await Harness()
        _ = try await h.server.services.directory.users.create(userPrincipalName: "dan@example.test", password: "pass-word-1")
        let start = try await h.send(
            .post, "/organizations/oauth2/v2.0/devicecode", host: Self.authority, headers: [.contentType: "application/x-www-form-urlencoded"],
            rawBody: form(["client_id": Self.cli, "scope": "\(Self.arm)//.default offline_access openid profile"]))
        #expect(start.status == .ok)
        let deviceCode = try #require(start.json["device_code"] as? String)
        let userCode = try #require(start.json["user_code"] as? String)
        #expect(start.json["verification_uri"] as? String == "https://localhost:8443/devicelogin" && start.json["interval"] as? Int == 5)
        let poll = ["grant_type": "urn:ietf:params:oauth:grant-type:device_code", "client_id": Self.cli, "device_code": deviceCode]
        #expect(try await token(h, poll, tenant: "organizations").json["error"] as? String == "authorization_pending")

        var browser = Browser(h: h)
        let redirect = try await browser.send(.get, "/devicelogin")
        #expect(redirect.status == .seeOther && redirect.headers[.location] == "/signin?return=/devicelogin")
        let signInPage = try await browser.send(.get, "/signin?return=/devicelogin")
        #expect(signInPage.headers[.contentSecurityPolicy]?.contains("default-src 'none'") == true)
        let csrf = try #require(Browser.hidden("csrf", in: signInPage.text))
        // Without the page's CSRF token, nothing happens.
        var forger = Browser(h: h)
        let forged = try await forger.send(
            .post, "/signin", form: ["username": "dan@example.test", "password": "pass-word-1", "return": "/devicelogin"])
        #expect(forged.status == .forbidden && forger.cookies[SignInPages.sessionCookie] == nil)
        let signedIn = try await browser.send(
            .post, "/signin", form: ["csrf": csrf, "username": "dan@example.test", "password": "pass-word-1", "return": "/devicelogin"])
        #expect(signedIn.status == .seeOther && signedIn.headers[.location] == "/devicelogin")
        let codePage = try await browser.send(.get, "/devicelogin")
        let sessionCSRF = try #require(Browser.hidden("csrf", in: codePage.text))
        #expect(try await browser.send(.post, "/devicelogin", form: ["csrf": "wrong", "user_code": userCode]).status == .forbidden)
        let approval = try await browser.send(.post, "/devicelogin", form: ["csrf": sessionCSRF, "user_code": userCode.lowercased()])
        #expect(approval.status == .ok && approval.text.contains("Microsoft Azure CLI"))
        let done = try await browser.send(.post, "/devicelogin/answer", form: ["csrf": sessionCSRF, "user_code": userCode, "decision": "approve"])
        #expect(done.status == .ok && done.text.contains("You are signed in"))

        let tokens = try await token(h, poll, tenant: "organizations")
        #expect(tokens.status == .ok && tokens.json["refresh_token"] != nil)
        let deviceID = try claims(try #require(tokens.json["id_token"] as? String))
        #expect(deviceID["upn"] as? String == "dan@example.test")
        #expect(try await token(h, poll, tenant: "organizations").json["error"] as? String == "invalid_grant")
    }

    @Test func aDeviceCodeCanBeDeniedOrExpire() async throws {
        let h = try await Harness()
        let (user, _) = try await h.server.services.directory.users.create(userPrincipalName: "erin@example.test", password: "pass-word-1")
        let signIn = h.server.services.signIn
        let denied = try await signIn.startDeviceFlow(tenant: "adfs", clientId: Self.cli, scope: Self.vault + "/.default")
        #expect(try await signIn.answerDeviceFlow(userCode: denied.userCode, user: user, approve: false))
        await #expect(throws: OAuthError.self) { try await signIn.pollDeviceFlow(tenant: "adfs", clientId: Self.cli, deviceCode: denied.deviceCode) }
        let poll = ["grant_type": "urn:ietf:params:oauth:grant-type:device_code", "client_id": Self.cli]
        let late = try await signIn.startDeviceFlow(tenant: "adfs", clientId: Self.cli, scope: Self.vault + "/.default")
        h.clock.advance(seconds: 901)
        #expect(try await signIn.answerDeviceFlow(userCode: late.userCode, user: user, approve: true) == false)
        #expect(try await token(h, poll.merging(["device_code": late.deviceCode]) { $1 }).json["error"] as? String == "expired_token")
        let deniedAgain = try await signIn.startDeviceFlow(tenant: "adfs", clientId: Self.cli, scope: Self.vault + "/.default")
        #expect(try await signIn.answerDeviceFlow(userCode: deniedAgain.userCode, user: user, approve: false))
        #expect(try await token(h, poll.merging(["device_code": deniedAgain.deviceCode]) { $1 }).json["error"] as? String == "access_denied")
    }

    @Test func aPolicyForAGroupLetsItsMembersInUntilTheyLeave() async throws {
        let h = try await Harness()
        let directory = h.server.services.directory
        let (user, _) = try await directory.users.create(userPrincipalName: "frank@example.test", password: "pass-word-1")
        let group = try await directory.groups.create(name: "readers")
        let nested = try await directory.groups.create(name: "team")
        _ = try await directory.addMember(user.objectId, to: "team")
        _ = try await directory.addMember("team", to: "readers")
        _ = try await h.admin(.put, "/secrets/shared?api-version=7.4", json: ["value": "v"])
        let policy = try await h.send(
            .put, "/coffre/v1/vaults/default/policies/readers", host: Self.authority, token: try await h.adminToken(),
            json: ["permissions": ["secrets": ["get"]]])
        #expect(policy.status == .ok)
        let access = try #require(
            try await passwordGrant(h, user: "frank@example.test", password: "pass-word-1", resource: Self.vault).json["access_token"] as? String)
        #expect(try await h.send(.get, "/secrets/shared?api-version=7.4", token: access).status == .ok)
        #expect(try await h.send(.get, "/secrets?api-version=7.4", token: access).status == .forbidden)
        _ = try await directory.removeMember(user.objectId, from: nested.objectId)
        #expect(try await h.send(.get, "/secrets/shared?api-version=7.4", token: access).status == .forbidden)
        #expect(try await directory.groups.find(group.objectId).members == [nested.objectId])
    }

    @Test func theAuthorizationCodeFlowWithPKCE() async throws {
        let h = try await Harness()
        _ = try await h.server.services.directory.users.create(userPrincipalName: "gina@example.test", password: "pass-word-1")
        let verifier = Base64.urlEncoded(SecureRandom.bytes(32))
        let challenge = Base64.urlEncoded(Digest.sha256(Array(verifier.utf8)))
        let redirect = "http://localhost:51234/"
        let query = [
            "client_id": Self.cli, "response_type": "code", "redirect_uri": redirect, "scope": "\(Self.arm)//.default openid profile offline_access",
            "state": "s-1", "nonce": "n-1", "code_challenge": challenge, "code_challenge_method": "S256", "response_mode": "form_post",
        ]
        let path = "/organizations/oauth2/v2.0/authorize?" + form(query)
        var browser = Browser(h: h)
        // An unregistered redirect URI is never redirected to.
        let foreign = try await browser.send(
            .get, "/organizations/oauth2/v2.0/authorize?" + form(query.merging(["redirect_uri": "https://evil.example/"]) { $1 }))
        #expect(foreign.status == .badRequest && foreign.headers[.location] == nil)
        // Without PKCE, the error goes back to the application.
        let noPKCE = try await browser.send(
            .get, "/organizations/oauth2/v2.0/authorize?" + form(query.merging(["code_challenge_method": "plain", "response_mode": "query"]) { $1 }))
        #expect(noPKCE.headers[.location]?.hasPrefix(redirect + "?error=invalid_request") == true)

        let toSignIn = try await browser.send(.get, path)
        let signInURL = try #require(toSignIn.headers[.location])
        #expect(signInURL.hasPrefix("/signin?return=%2Forganizations%2Foauth2%2Fv2.0%2Fauthorize%3F"))
        let signInPage = try await browser.send(.get, signInURL)
        let back = try #require(Browser.hidden("return", in: signInPage.text)).replacingOccurrences(of: "&amp;", with: "&")
        let signedIn = try await browser.send(
            .post, "/signin",
            form: [
                "csrf": try #require(Browser.hidden("csrf", in: signInPage.text)), "username": "gina@example.test", "password": "pass-word-1",
                "return": back,
            ])
        #expect(signedIn.headers[.location] == back)
        let consent = try await browser.send(.get, back)
        #expect(consent.status == .ok && consent.headers[.contentSecurityPolicy]?.contains("form-action 'self' http://localhost:51234") == true)
        let csrf = try #require(Browser.hidden("csrf", in: consent.text))
        let answer = try await browser.send(
            .post, "/organizations/oauth2/v2.0/authorize", form: query.merging(["csrf": csrf, "decision": "continue"]) { $1 })
        #expect(answer.text.contains("action=\"http://localhost:51234/\""))
        let code = try #require(Browser.hidden("code", in: answer.text))
        #expect(Browser.hidden("state", in: answer.text) == "s-1")

        let redeem = ["grant_type": "authorization_code", "client_id": Self.cli, "code": code, "redirect_uri": redirect, "code_verifier": verifier]
        let wrongVerifier = try await token(
            h, redeem.merging(["code_verifier": Base64.urlEncoded(SecureRandom.bytes(32))]) { $1 }, tenant: "organizations")
        #expect(wrongVerifier.json["error"] as? String == "invalid_grant")
        // A failed redemption used the code up, as a stolen code must be: start again.
        #expect(try await token(h, redeem, tenant: "organizations").json["error"] as? String == "invalid_grant")

        let again = try await browser.send(
            .post, "/organizations/oauth2/v2.0/authorize", form: query.merging(["csrf": csrf, "decision": "continue"]) { $1 })
        let tokens = try await token(
            h, redeem.merging(["code": try #require(Browser.hidden("code", in: again.text))]) { $1 }, tenant: "organizations")
        #expect(tokens.status == .ok, "\(tokens.text)")
        let codeID = try claims(try #require(tokens.json["id_token"] as? String))
        #expect(codeID["nonce"] as? String == "n-1")
    }
}
