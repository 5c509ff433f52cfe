import CoffreAuth
import CoffreCore
import CoffreCrypto
import CoffreDirectory
import CoffreHTTP
import CoffreModel
import CoffreServer
import Foundation
import HTTPTypes
import Testing

@Suite struct ChallengeTests {
    @Test func missingTokenGetsTheChallengeBeforeTheBodyIsRead() async throws {
        let h = try await Harness()
        let reply = try await h.send(.put, "/secrets/s?api-version=2026-04-01", headers: [.contentType: "application/json"])
        #expect(reply.status == .unauthorized)
        #expect(reply.headers[.wwwAuthenticate] == "Bearer authorization=\"https://localhost:8443\", resource=\"https://vault.localhost:8443\"")
        #expect(reply.errorCode == "Unauthorized")
    }

    @Test func invalidTokensGet401AndNeverData() async throws {
        let h = try await Harness()
        _ = try await h.admin(.put, "/secrets/s?api-version=7.4", json: ["value": "topsecret"])
        for token in ["garbage", "a.b.c", try await h.adminToken(resource: "https://managedhsm.localhost:8443")] {
            let reply = try await h.send(.get, "/secrets/s?api-version=7.4", token: token)
            #expect(reply.status == .unauthorized)
            #expect(!reply.text.contains("topsecret"))
        }
        let token = try await h.adminToken()
        h.clock.advance(seconds: 3600 + 301)
        #expect(try await h.send(.get, "/secrets/s?api-version=7.4", token: token).status == .unauthorized)
    }

    @Test func hsmZoneChallengesWithItsOwnResource() async throws {
        let h = try await Harness()
        let reply = try await h.send(.get, "/keys?api-version=7.4", host: "myhsm.managedhsm.localhost:8443")
        #expect(reply.headers[.wwwAuthenticate]?.contains("resource=\"https://managedhsm.localhost:8443\"") == true)
    }

    @Test func apiVersionIsRequiredAndAnyVersionClientsSendIsAccepted() async throws {
        let h = try await Harness()
        #expect(try await h.admin(.get, "/secrets").errorCode == "BadParameter")
        #expect(try await h.admin(.get, "/secrets?api-version=banana").errorCode == "BadParameter")
        for version in ["2016-10-01", "7.0", "7.4", "7.6-preview.2", "2025-07-01", "2026-04-01", "2025-06-01-preview"] {
            #expect(try await h.admin(.get, "/secrets?api-version=\(version)").status == .ok, "\(version)")
        }
    }
}

@Suite struct AddressingTests {
    @Test func idsEchoTheHostTheClientUsed() async throws {
        let h = try await Harness()
        let reply = try await h.admin(.put, "/secrets/MySecret?api-version=7.4", json: ["value": "v"])
        let id = try #require(reply.json["id"] as? String)
        #expect(id.hasPrefix("https://default.vault.localhost:8443/secrets/MySecret/"))
        #expect(id.split(separator: "/").last?.count == 32)
        let bare = try await h.send(.get, "/secrets/mysecret?api-version=7.4", host: "localhost:8443", token: try await h.adminToken())
        #expect((bare.json["id"] as? String)?.hasPrefix("https://localhost:8443/secrets/MySecret/") == true)
        #expect(bare.json["value"] as? String == "v")
    }

    @Test func unknownVaultsAre404() async throws {
        let h = try await Harness()
        let reply = try await h.admin(.get, "/secrets?api-version=7.4", host: "nowhere.vault.localhost:8443")
        #expect(reply.status == .notFound)
        #expect(reply.errorCode == "VaultNotFound")
    }

    @Test func healthNeedsNoToken() async throws {
        let h = try await Harness()
        #expect(try await h.send(.get, "/healthz").status == .ok)
    }
}

@Suite struct SecretWireTests {
    @Test func setGetUpdateWithTheWireShapes() async throws {
        let h = try await Harness()
        let set = try await h.admin(
            .put, "/secrets/s?api-version=2026-04-01",
            json: ["value": "v4lue", "tags": ["a": "b"], "contentType": "text/plain", "attributes": ["enabled": true, "exp": 1_900_000_000]])
        #expect(set.status == .ok)
        let attributes = try #require(set.json["attributes"] as? [String: Any])
        #expect(attributes["exp"] as? Int == 1_900_000_000)
        #expect(attributes["created"] as? Int == 1_800_000_000)
        #expect(attributes["recoverableDays"] as? Int == 90)
        #expect(attributes["recoveryLevel"] as? String == "Recoverable+Purgeable")
        #expect(set.headers[.contentType] == "application/json; charset=utf-8")

        let latest = try await h.admin(.get, "/secrets/s/?api-version=2026-04-01")
        #expect(latest.json["value"] as? String == "v4lue")
        #expect(latest.json["tags"] as? [String: String] == ["a": "b"])

        let update = try await h.admin(.patch, "/secrets/s/?api-version=2026-04-01", json: ["contentType": "application/json"])
        #expect(update.json["value"] == nil)
        #expect(update.json["contentType"] as? String == "application/json")
    }

    @Test func errorsUseTheKeyVaultEnvelope() async throws {
        let h = try await Harness()
        let missing = try await h.admin(.get, "/secrets/nope?api-version=7.4")
        #expect(missing.status == .notFound)
        #expect(missing.errorCode == "SecretNotFound")
        #expect((missing.json["error"] as? [String: Any])?["message"] as? String != nil)

        #expect(try await h.admin(.put, "/secrets/bad_name?api-version=7.4", json: ["value": "v"]).errorCode == "BadParameter")
        #expect(try await h.admin(.put, "/secrets/s?api-version=7.4", json: ["tags": [:]]).errorCode == "BadParameter")
        #expect(
            try await h.send(.put, "/secrets/s?api-version=7.4", token: try await h.adminToken(), rawBody: "{not json").errorCode == "BadParameter")
        #expect(try await h.admin(.put, "/secrets/s?api-version=7.4", json: ["value": 5]).errorCode == "BadParameter")
        #expect(try await h.admin(.get, "/secrets?api-version=7.4&maxresults=26").errorCode == "BadParameter")

        _ = try await h.admin(.put, "/secrets/off?api-version=7.4", json: ["value": "v", "attributes": ["enabled": false]])
        let disabled = try await h.admin(.get, "/secrets/off?api-version=7.4")
        #expect(disabled.status == .forbidden)
        #expect(disabled.innerCode == "SecretDisabled")
        #expect(!disabled.text.contains("\"v\""))

        _ = try await h.admin(.delete, "/secrets/off?api-version=7.4")
        let conflict = try await h.admin(.put, "/secrets/off?api-version=7.4", json: ["value": "v"])
        #expect(conflict.status == .conflict)
        #expect(conflict.innerCode == "ObjectIsDeletedButRecoverable")
    }

    @Test func pagingFollowsNextLink() async throws {
        let h = try await Harness()
        for index in 0..<5 { _ = try await h.admin(.put, "/secrets/s\(index)?api-version=7.4", json: ["value": "v"]) }
        var names: [String] = []
        var path: String? = "/secrets?api-version=7.4&maxresults=2"
        while let next = path {
            let page = try await h.admin(.get, next)
            #expect(page.status == .ok)
            names += (page.json["value"] as? [[String: Any]] ?? []).compactMap { ($0["id"] as? String)?.split(separator: "/").last.map(String.init) }
            #expect(page.json.keys.contains("nextLink"))
            path = (page.json["nextLink"] as? String).map { link in
                #expect(link.hasPrefix("https://default.vault.localhost:8443/secrets?"))
                return String(link.dropFirst("https://default.vault.localhost:8443".count)).replacingOccurrences(of: "$", with: "%24")
            }
        }
        #expect(names == ["s0", "s1", "s2", "s3", "s4"])
    }

    @Test func methodOverrideTunnelsPatchAndDelete() async throws {
        let h = try await Harness()
        _ = try await h.admin(.put, "/secrets/s?api-version=7.4", json: ["value": "v"])
        let token = try await h.adminToken()
        let patched = try await h.send(
            .post, "/secrets/s?api-version=7.4", token: token, headers: [HTTPField.Name("X-HTTP-Method")!: "PATCH"],
            json: ["contentType": "x"])
        #expect(patched.json["contentType"] as? String == "x")
        let deleted = try await h.send(.post, "/secrets/s?api-version=7.4", token: token, headers: [HTTPField.Name("X-HTTP-Method")!: "DELETE"])
        #expect(deleted.json["recoveryId"] as? String == "https://default.vault.localhost:8443/deletedsecrets/s")
        #expect(try await h.admin(.delete, "/deletedsecrets/s?api-version=7.4").status == .noContent)
    }

    @Test func deletedBundlesCarryRecoveryFields() async throws {
        let h = try await Harness()
        _ = try await h.admin(.put, "/secrets/s?api-version=7.4", json: ["value": "v"])
        let deleted = try await h.admin(.delete, "/secrets/s?api-version=7.4")
        #expect(deleted.json["value"] == nil)
        #expect(deleted.json["deletedDate"] as? Int == 1_800_000_000)
        #expect(deleted.json["scheduledPurgeDate"] as? Int == 1_800_000_000 + 90 * 86_400)
        let listed = try await h.admin(.get, "/deletedsecrets?api-version=7.4")
        let item = try #require((listed.json["value"] as? [[String: Any]])?.first)
        #expect(item["recoveryId"] as? String == "https://default.vault.localhost:8443/deletedsecrets/s")
        #expect(try await h.admin(.post, "/deletedsecrets/s/recover?api-version=7.4").status == .ok)
        #expect(try await h.admin(.get, "/secrets/s?api-version=7.4").json["value"] as? String == "v")
    }
}

@Suite struct AccessTests {
    @Test func aPrincipalWithoutPolicyIsForbiddenAndGrantedOnceThePolicyIsSet() async throws {
        let h = try await Harness()
        let (principal, secret) = try await h.server.services.principals.create(displayName: "app")
        let issued = try await h.server.services.tokens.clientCredentials(
            tenant: h.server.state.identity.tenantId, clientId: principal.clientId, clientSecret: secret,
            scope: "https://vault.localhost:8443/.default")
        _ = try await h.admin(.put, "/secrets/s?api-version=7.4", json: ["value": "hidden"])

        let refused = try await h.send(.get, "/secrets/s?api-version=7.4", token: issued.accessToken)
        #expect(refused.status == .forbidden)
        #expect(refused.innerCode == "ForbiddenByPolicy")
        #expect(!refused.text.contains("hidden"))

        _ = try await h.server.services.vaults.setPolicy(
            AccessPolicy(
                tenantId: principal.objectId == "" ? "" : h.server.state.identity.tenantId, objectId: principal.objectId,
                permissions: [.secrets: ["get"]]),
            on: VaultName("default"))
        #expect(try await h.send(.get, "/secrets/s?api-version=7.4", token: issued.accessToken).json["value"] as? String == "hidden")
        #expect(try await h.send(.get, "/secrets?api-version=7.4", token: issued.accessToken).status == .forbidden)
    }
}

@Suite struct TokenEndpointTests {
    @Test func discoveryAndJWKS() async throws {
        let h = try await Harness()
        let tenant = h.server.state.identity.tenantId
        let discovery = try await h.send(.get, "/\(tenant)/v2.0/.well-known/openid-configuration", host: "localhost:8443")
        #expect(discovery.json["token_endpoint"] as? String == "https://localhost:8443/\(tenant)/oauth2/v2.0/token")
        #expect(discovery.json["issuer"] as? String == "https://localhost:8443/\(tenant)/v2.0")
        let jwks = try await h.send(.get, "/\(tenant)/discovery/v2.0/keys", host: "localhost:8443")
        let keys = try #require(jwks.json["keys"] as? [[String: Any]])
        #expect(keys.first?["kty"] as? String == "RSA")
        #expect(keys.first?["d"] == nil)
    }

    @Test func clientCredentialsGrantOverHTTP() async throws {
        let h = try await Harness()
        let tenant = h.server.state.identity.tenantId
        let (principal, secret) = try await h.server.services.principals.create(displayName: "app")
        let form =
            "client_id=\(principal.clientId)&grant_type=client_credentials&client_info=1&client_secret=\(secret)"
            + "&scope=https%3A%2F%2Fvault.localhost%3A8443%2F.default"
        let token = try await h.send(
            .post, "/\(tenant)/oauth2/v2.0/token", host: "localhost:8443", headers: [.contentType: "application/x-www-form-urlencoded"],
            rawBody: form)
        #expect(token.status == .ok)
        #expect(token.json["token_type"] as? String == "Bearer")
        #expect(token.json["expires_in"] as? Int == 3600)

        let wrong = try await h.send(
            .post, "/\(tenant)/oauth2/v2.0/token", host: "localhost:8443", rawBody: form.replacingOccurrences(of: secret, with: "nope"))
        #expect(wrong.status == .unauthorized)
        #expect(wrong.json["error"] as? String == "invalid_client")
    }

    @Test func managedIdentityNeedsTheHeaderSecret() async throws {
        let h = try await Harness()
        let path = "/msi/token?api-version=2019-08-01&resource=https://vault.localhost:8443"
        #expect(try await h.send(.get, path, host: "localhost:8443").status == .unauthorized)
        #expect(
            try await h.send(.get, path, host: "localhost:8443", headers: [HTTPField.Name("X-IDENTITY-HEADER")!: "wrong"]).status == .unauthorized)
        let header = String(decoding: h.server.services.managedIdentity.headerSecret, as: UTF8.self)
        let reply = try await h.send(.get, path, host: "localhost:8443", headers: [HTTPField.Name("X-IDENTITY-HEADER")!: header])
        #expect(reply.status == .ok)
        let token = try #require(reply.json["access_token"] as? String)
        #expect(Int(reply.json["expires_on"] as? String ?? "") == 1_800_003_600)
        #expect(try await h.send(.get, "/secrets?api-version=7.4", token: token).status == .ok)
    }
}

@Suite struct AuditTests {
    @Test func everyDataPlaneRequestYieldsOneOutcomeRecordWithoutValues() async throws {
        let h = try await Harness()
        _ = try await h.admin(.put, "/secrets/audited?api-version=7.4", json: ["value": "super-secret-value"])
        _ = try await h.admin(.get, "/secrets/audited?api-version=7.4")
        _ = try await h.send(.get, "/secrets/audited?api-version=7.4", token: "bad")
        // The change was recorded before it was made, then its outcome; reads have their outcome only.
        let request = try #require(h.audit.recorded.first)
        #expect(request.stage == "request" && request.operationName == "SecretSet" && request.resultType == "Started")
        #expect(request.identity?.claim["appid"] == h.server.state.identity.adminClientId)
        let events = h.audit.recorded.filter { $0.stage == nil }
        #expect(events.map(\.operationName) == ["SecretSet", "SecretGet", "SecretGet"])
        #expect(events.map(\.properties.httpStatusCode) == [200, 200, 401])
        #expect(events[1].properties.id == "https://default.vault.localhost:8443/secrets/audited")
        #expect(events[1].resultType == "Success" && events[2].resultType == "Failure")
        #expect(events[1].identity?.claim["appid"] == h.server.state.identity.adminClientId)
        #expect(events[2].identity == nil)
        #expect(events[1].properties.isAccessPolicyMatch == true)
        let encoded = String(decoding: try JSONEncoder().encode(events), as: UTF8.self)
        #expect(!encoded.contains("super-secret-value"))
        #expect(!encoded.contains(try await h.adminToken()))
    }

    @Test func requestsFailWhenTheAuditLogCannotBeWritten() async throws {
        let h = try await Harness()
        h.audit.setFailing(true)
        let refused = try await h.admin(.put, "/secrets/never?api-version=7.4", json: ["value": "v"])
        #expect(refused.status == .serviceUnavailable)
        #expect(refused.errorCode == "AuditLogUnavailable")
        h.audit.setFailing(false)
        #expect(try await h.admin(.get, "/secrets/never?api-version=7.4").status == .notFound)
    }

    /// Issue 27, point 2: a change whose record cannot be written is not made, so the client's retry makes it once.
    @Test func aChangeWhoseRecordCannotBeWrittenHasNoEffect() async throws {
        let h = try await Harness()
        h.audit.failNext { $0.stage == "request" }
        let refused = try await h.admin(.put, "/secrets/once?api-version=7.4", json: ["value": "v"])
        #expect(refused.status == .serviceUnavailable)
        #expect(refused.errorCode == "AuditLogUnavailable")
        #expect(try await h.admin(.get, "/secrets/once?api-version=7.4").status == .notFound)
        #expect(try await h.admin(.put, "/secrets/once?api-version=7.4", json: ["value": "v"]).status == .ok)
        let versions = try await h.admin(.get, "/secrets/once/versions?api-version=7.4")
        #expect((versions.json["value"] as? [Any])?.count == 1)
    }

    /// A change made after its record was written is answered as made when its outcome cannot be recorded: its request
    /// record stands, and a 503 would have the client repeat it. A read whose outcome cannot be recorded gets nothing.
    @Test func aChangeWhoseOutcomeCannotBeRecordedIsAnsweredAsMade() async throws {
        let h = try await Harness()
        h.audit.failNext { $0.stage == nil && $0.operationName == "SecretSet" }
        #expect(try await h.admin(.put, "/secrets/made?api-version=7.4", json: ["value": "v"]).status == .ok)
        #expect(h.audit.recorded.map(\.stage) == ["request"])
        h.audit.failNext { $0.operationName == "SecretGet" }
        let read = try await h.admin(.get, "/secrets/made?api-version=7.4")
        #expect(read.status == .serviceUnavailable)
        #expect(!read.text.contains("\"value\":\"v\""))
    }

    /// A key operation is a POST that changes nothing: it has its outcome's record only, and, as a read, its result
    /// does not leave when that record cannot be written.
    @Test func aKeyOperationIsRecordedAsARead() async throws {
        let h = try await Harness()
        _ = try await h.admin(.post, "/keys/signer/create?api-version=7.4", json: ["kty": "EC", "crv": "P-256"])
        let digest = Base64.urlEncoded(Digest.sha256(Array("message".utf8)))
        let signed = try await h.admin(.post, "/keys/signer//sign?api-version=7.4", json: ["alg": "ES256", "value": digest])
        #expect(signed.status == .ok)
        #expect(h.audit.recorded.filter { $0.operationName == "KeySign" }.map(\.stage) == [nil])
        #expect(h.audit.recorded.filter { $0.operationName == "KeyCreate" }.map(\.stage) == ["request", nil])
        h.audit.failNext { $0.operationName == "KeySign" }
        let refused = try await h.admin(.post, "/keys/signer//sign?api-version=7.4", json: ["alg": "ES256", "value": digest])
        #expect(refused.status == .serviceUnavailable)
        #expect(refused.json["value"] == nil)
    }
}

@Suite struct RBACWireTests {
    @Test func rbacVaultsDecideByRoleAssignmentsAndChangesApplyOnTheNextRequest() async throws {
        let h = try await Harness()
        let services = h.server.services
        let vault = try await services.vaults.create(VaultName("rbacvault"), settings: .init(rbacAuthorization: true), owner: nil)
        let (principal, secret) = try await services.principals.create(displayName: "rbac-app")
        let token = try await services.tokens.clientCredentials(
            tenant: "adfs", clientId: principal.clientId, clientSecret: secret, scope: "https://vault.localhost:8443/.default"
        ).accessToken
        let host = "rbacvault.vault.localhost:8443"

        let refused = try await h.send(.put, "/secrets/s?api-version=7.4", host: host, token: token, json: ["value": "v"])
        #expect(refused.status == .forbidden)
        #expect(refused.innerCode == "ForbiddenByRbac")

        let officer = try await services.roleAssignments.create(
            role: try .named("Key Vault Secrets Officer"), principalId: principal.objectId, scope: RoleScope(vault: vault.name))
        #expect(try await h.send(.put, "/secrets/s?api-version=7.4", host: host, token: token, json: ["value": "v"]).status == .ok)
        _ = try await services.roleAssignments.delete(id: officer.id, in: vault.name)
        _ = try await services.roleAssignments.create(
            role: try .named("Key Vault Secrets User"), principalId: principal.objectId, scope: RoleScope(parsing: "/vaults/rbacvault/secrets/s"))
        #expect(try await h.send(.get, "/secrets/s?api-version=7.4", host: host, token: token).json["value"] as? String == "v")
        #expect(try await h.send(.put, "/secrets/s?api-version=7.4", host: host, token: token, json: ["value": "w"]).status == .forbidden)
        #expect(try await h.send(.get, "/secrets?api-version=7.4", host: host, token: token).status == .forbidden)
        #expect(h.audit.recorded.last?.properties.isRbacAuthorized == false)
    }
}

@Suite struct ManagedIdentityTests {
    @Test func imdsNeedsTheMetadataHeaderAndALoopbackCaller() async throws {
        let h = try await Harness()
        let path = "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://vault.localhost:8443"
        // The test channel has no peer address, so it is not a loopback caller.
        let remote = try await h.send(.get, path, host: "localhost:8443", headers: [HTTPField.Name("Metadata")!: "true"])
        #expect(remote.status == .forbidden)
        #expect(try await h.send(.get, path, host: "localhost:8443").status == .badRequest)
    }

    @Test func userAssignedIdentitiesAreChosenByClientId() async throws {
        let h = try await Harness()
        let (identity, _) = try await h.server.services.principals.create(displayName: "worker", managedIdentity: true)
        let (plain, _) = try await h.server.services.principals.create(displayName: "not-an-identity")
        let header = String(decoding: h.server.services.managedIdentity.headerSecret, as: UTF8.self)
        let base = "/msi/token?api-version=2019-08-01&resource=https://vault.localhost:8443&client_id="
        let reply = try await h.send(.get, base + identity.clientId, host: "localhost:8443", headers: [HTTPField.Name("X-IDENTITY-HEADER")!: header])
        #expect(reply.json["client_id"] as? String == identity.clientId)
        let token = try #require(reply.json["access_token"] as? String)
        #expect(
            try await h.server.services.verifier.verify(token, resources: ["https://vault.localhost:8443"], now: h.clock.now).objectId
                == identity.objectId)
        let refused = try await h.send(.get, base + plain.clientId, host: "localhost:8443", headers: [HTTPField.Name("X-IDENTITY-HEADER")!: header])
        #expect(refused.status == .badRequest)
    }
}

@Suite struct ManagementTests {
    @Test func onlyAdministratorsManage() async throws {
        let h = try await Harness()
        let (principal, secret) = try await h.server.services.principals.create(displayName: "user")
        let token = try await h.server.services.tokens.clientCredentials(
            tenant: "adfs", clientId: principal.clientId, clientSecret: secret, scope: "https://vault.localhost:8443"
        ).accessToken
        #expect(try await h.send(.get, "/coffre/v1/vaults", host: "localhost:8443", token: token).status == .forbidden)
        #expect(try await h.send(.get, "/coffre/v1/vaults", host: "localhost:8443").status == .unauthorized)
        let listed = try await h.send(.get, "/coffre/v1/vaults", host: "localhost:8443", token: try await h.adminToken())
        #expect(listed.status == .ok)
        #expect(h.audit.recorded.map(\.operationName).suffix(3) == ["VaultGet", "VaultGet", "VaultGet"])
    }

    @Test func roleAssignmentsThroughTheAPI() async throws {
        let h = try await Harness()
        let admin = try await h.adminToken()
        _ = try await h.send(.post, "/coffre/v1/vaults", host: "localhost:8443", token: admin, json: ["name": "rbacone", "rbacAuthorization": true])
        let created = try await h.send(
            .post, "/coffre/v1/roleassignments", host: "localhost:8443", token: admin,
            json: ["role": "Key Vault Reader", "assignee": "abc", "scope": "/vaults/rbacone"])
        #expect(created.status == .created)
        #expect(created.json["roleName"] as? String == "Key Vault Reader")
        let listed = try await h.send(.get, "/coffre/v1/vaults/rbacone/roleassignments", host: "localhost:8443", token: admin)
        // The creator's administrator assignment plus the new one.
        #expect(listed.text.contains("Key Vault Administrator") && listed.text.contains("Key Vault Reader"))
        let bad = try await h.send(
            .post, "/coffre/v1/roleassignments", host: "localhost:8443", token: admin,
            json: ["role": "Vault Janitor", "assignee": "abc", "scope": "/vaults/rbacone"])
        #expect(bad.errorCode == "BadParameter")
        // Azure scopes: the subscription (the administrator's Owner role is implied there, others are granted).
        let subscription = h.server.services.resources.subscriptionId
        let contributor = try await h.send(
            .post, "/coffre/v1/roleassignments", host: "localhost:8443", token: admin,
            json: ["role": "Contributor", "assignee": "abc", "scope": "/subscriptions/\(subscription)"])
        #expect(contributor.json["scope"] as? String == "/subscriptions/\(subscription)")
        let elsewhere = try await h.send(
            .post, "/coffre/v1/roleassignments", host: "localhost:8443", token: admin,
            json: ["role": "Contributor", "assignee": "abc", "scope": "/subscriptions/\(subscription)/resourceGroups/nothere"])
        #expect(elsewhere.errorCode == "ResourceGroupNotFound")
    }
}
