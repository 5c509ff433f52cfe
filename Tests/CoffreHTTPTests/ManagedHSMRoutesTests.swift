import CoffreAuth
import CoffreCertificates
import CoffreCore
import CoffreCrypto
import CoffreDirectory
import CoffreHTTP
import CoffreModel
import CoffreServer
import Foundation
import HTTPTypes
import Testing

/// Certificates a security-domain customer makes for its keys (`openssl req -x509`).
enum TestCertificates {
    static func selfSigned(_ key: KeyMaterial, commonName: String) async throws -> [UInt8] {
        try await CertificateBuilder.makeSelfSigned(
            CertificatePolicySpec(subject: "CN=\(commonName)"), key: SoftwareSigningKey(pkcs8DER: try key.pkcs8DER))
    }
}

/// The Managed HSM fronts through the one router (no socket): management of pools, local RBAC, settings, the security
/// domain and keys on a pool.
@Suite struct ManagedHSMRoutesTests {
    static let host = "pool.managedhsm.localhost:8443"
    static let resource = "https://managedhsm.localhost:8443"
    static let cryptoUser = "21dbd100-6940-42c2-9190-5d6cb909625b"

    /// A pool created through the management API by the server's administrator, who becomes its administrator.
    func pool(_ h: Harness, activated: Bool = true) async throws -> String {
        let created = try await h.admin(.post, "/coffre/v1/hsms", json: ["name": "pool", "activated": activated])
        #expect(created.status == .created)
        #expect(created.json["url"] as? String == "https://pool.managedhsm.localhost:8443")
        #expect(created.json["activation"] as? String == (activated ? "Active" : "NotActivated"))
        return try await h.adminToken(resource: Self.resource)
    }

    func send(_ h: Harness, _ method: HTTPRequest.Method, _ path: String, token: String, json: Any? = nil) async throws -> Harness.Reply {
        try await h.send(method, path, host: Self.host, token: token, json: json)
    }

    /// Gives the caller Crypto User at `scope` (`/keys` by default, written as the Python SDK does) through the RBAC API.
    func assignCryptoUser(_ h: Harness, token: String, scope: String = "/keys") async throws {
        let objectId = h.server.state.identity.adminObjectId
        let reply = try await send(
            h, .put, "/\(scope)/providers/Microsoft.Authorization/roleAssignments/\(UUID().uuidString.lowercased())?api-version=7.4",
            token: token, json: ["properties": ["roleDefinitionId": Self.cryptoUser, "principalId": objectId]])
        #expect(reply.status == .created)
    }

    @Test func poolsAreManagedAndChallengeWithTheHSMResource() async throws {
        let h = try await Harness()
        _ = try await pool(h)
        #expect(try await h.admin(.get, "/coffre/v1/hsms").text.contains("\"pool\""))
        #expect(try await h.admin(.post, "/coffre/v1/vaults", json: ["name": "pool"]).status == .conflict)
        let challenge = try await h.send(.get, "/keys?api-version=7.4", host: Self.host)
        #expect(challenge.status == .unauthorized)
        #expect(challenge.headers[.wwwAuthenticate]?.contains("resource=\"\(Self.resource)\"") == true)
        // A vault token is not a pool token.
        #expect(try await send(h, .get, "/keys?api-version=7.4", token: try await h.adminToken()).status == .unauthorized)
        #expect(try await h.admin(.delete, "/coffre/v1/hsms/pool").status == .noContent)
        #expect(try await h.admin(.get, "/coffre/v1/hsms/pool").errorCode == "ManagedHsmNotFound")
    }

    @Test func roleDefinitionsAndAssignmentsOnEveryScopeSpelling() async throws {
        let h = try await Harness()
        let token = try await pool(h)
        for prefix in ["", "/", "//"] {
            let list = try await send(h, .get, "\(prefix)/providers/Microsoft.Authorization/roleDefinitions?api-version=7.4", token: token)
            let values = try #require(list.json["value"] as? [[String: Any]])
            #expect(values.count == ManagedHSMRoleDefinition.builtIn.count, "\(prefix)")
        }
        let filtered = try await send(
            h, .get, "//providers/Microsoft.Authorization/roleDefinitions?api-version=7.4&$filter=roleName%20eq%20'Managed%20HSM%20Crypto%20User'",
            token: token)
        let only = try #require((filtered.json["value"] as? [[String: Any]])?.first)
        #expect(only["id"] as? String == "Microsoft.KeyVault/providers/Microsoft.Authorization/roleDefinitions/\(Self.cryptoUser)")
        #expect((only["properties"] as? [String: Any])?["type"] as? String == "AKVBuiltInRole")

        let name = "6a5b4c3d-0000-4000-8000-000000000001"
        let definition = try await send(
            h, .put, "//providers/Microsoft.Authorization/roleDefinitions/\(name)?api-version=7.4", token: token,
            json: ["properties": ["roleName": "reader", "permissions": [["dataActions": ["Microsoft.KeyVault/managedHsm/keys/read/action"]]]]])
        #expect(definition.status == .created)
        let permissions = try #require(((definition.json["properties"] as? [String: Any])?["permissions"] as? [[String: Any]])?.first)
        #expect(permissions["notDataActions"] as? [String] == [] && permissions["actions"] as? [String] == [])

        try await assignCryptoUser(h, token: token)
        let keys = try await send(h, .get, "//keys/providers/Microsoft.Authorization/roleAssignments?api-version=7.4", token: token)
        let scopes = try #require(keys.json["value"] as? [[String: Any]]).compactMap { ($0["properties"] as? [String: Any])?["scope"] as? String }
        #expect(Set(scopes) == ["/", "/keys"])
        let atRoot = try await send(h, .get, "/providers/Microsoft.Authorization/roleAssignments?api-version=7.4&$filter=atScope()", token: token)
        #expect((atRoot.json["value"] as? [[String: Any]])?.count == 1)
        let missing = try await send(
            h, .get, "//providers/Microsoft.Authorization/roleAssignments/\(UUID().uuidString)?api-version=7.4", token: token)
        #expect(missing.status == .notFound && missing.errorCode == "RoleAssignmentNotFound")
    }

    @Test func refusalsNameTheMissingDataAction() async throws {
        let h = try await Harness()
        _ = try await pool(h)
        let (principal, secret) = try await h.server.services.principals.create(displayName: "app")
        let token = try await h.server.services.tokens.clientCredentials(
            tenant: h.server.state.identity.tenantId, clientId: principal.clientId, clientSecret: secret, scope: "\(Self.resource)/.default"
        ).accessToken
        let refused = try await send(h, .post, "/keys/k/create?api-version=7.4", token: token, json: ["kty": "RSA"])
        #expect(refused.status == .forbidden)
        #expect(refused.errorCode == "AccessDenied")
        #expect(refused.text.contains("Microsoft.KeyVault/managedHsm/keys/create on /keys/k"))
        let settings = try await send(h, .get, "/settings?api-version=7.4", token: token)
        #expect(settings.errorCode == "AccessDenied" && settings.text.contains("settings/read/action on /"))
    }

    @Test func settingsAreTypedBooleanStrings() async throws {
        let h = try await Harness()
        let token = try await pool(h)
        let list = try await send(h, .get, "/settings?api-version=7.6", token: token)
        #expect(list.text == #"{"settings":[{"name":"AllowKeyManagementOperationsThroughARM","value":"false","type":"boolean"}]}"#)
        let updated = try await send(
            h, .patch, "/settings/AllowKeyManagementOperationsThroughARM?api-version=7.6", token: token, json: ["value": "true"])
        #expect(updated.json["value"] as? String == "true" && updated.json["type"] as? String == "boolean")
        #expect(try await send(h, .patch, "/settings/Nope?api-version=7.6", token: token, json: ["value": "true"]).status == .notFound)
        #expect(
            try await send(h, .patch, "/settings/AllowKeyManagementOperationsThroughARM?api-version=7.6", token: token, json: ["value": "1"]).status
                == .badRequest)
    }

    @Test func keysOnAPoolAreHSMKeysAndWaitForActivation() async throws {
        let h = try await Harness()
        let token = try await pool(h, activated: false)
        try await assignCryptoUser(h, token: token, scope: "/")
        let early = try await send(h, .post, "/keys/k/create?api-version=7.4", token: token, json: ["kty": "RSA"])
        #expect(early.status == .forbidden && early.innerCode == "ManagedHsmNotActivated")

        _ = try await h.server.services.managedHSM.pools.activation(.begin(.download), root: .generate(), of: ManagedHSMName("pool"))
        _ = try await h.server.services.managedHSM.pools.activation(.complete, of: ManagedHSMName("pool"))
        let created = try await send(h, .post, "/keys/k/create?api-version=7.4", token: token, json: ["kty": "RSA"])
        let key = try #require(created.json["key"] as? [String: Any])
        #expect(key["kty"] as? String == "RSA-HSM")
        #expect((key["kid"] as? String)?.hasPrefix("https://\(Self.host)/keys/k/") == true)
        let aes = try await send(h, .post, "/keys/aes/create?api-version=7.6", token: token, json: ["kty": "oct-HSM", "key_size": 256])
        #expect((aes.json["key"] as? [String: Any])?["kty"] as? String == "oct-HSM")

        // A256CBC zero-pads a plaintext that is not a whole number of blocks.
        let plaintext = Array(repeating: UInt8(7), count: 20)
        let encrypted = try await send(
            h, .post, "/keys/aes//encrypt?api-version=7.6", token: token, json: ["alg": "A256CBC", "value": Base64.urlEncoded(plaintext)])
        let ciphertext = try #require(encrypted.json["value"] as? String)
        let iv = try #require(encrypted.json["iv"] as? String)
        let decrypted = try await send(
            h, .post, "/keys/aes//decrypt?api-version=7.6", token: token, json: ["alg": "A256CBC", "value": ciphertext, "iv": iv])
        #expect(Base64.decode(try #require(decrypted.json["value"] as? String)) == plaintext + Array(repeating: 0, count: 12))

        let attested = try await send(h, .get, "/keys/k//attestation?api-version=7.6", token: token)
        let attestation = try #require((attested.json["attributes"] as? [String: Any])?["attestation"] as? [String: Any])
        #expect(attestation["version"] as? String == "1.0")
        let pem = String(decoding: Base64.decode(try #require(attestation["certificatePemFile"] as? String)) ?? [], as: UTF8.self)
        #expect(pem.components(separatedBy: "BEGIN CERTIFICATE").count == 3)
        #expect((try await send(h, .get, "/keys/k?api-version=7.6", token: token).json["attributes"] as? [String: Any])?["attestation"] == nil)

        let rng = try await send(h, .post, "/rng?api-version=7.4", token: token, json: ["count": 16])
        #expect(Base64.decode(try #require(rng.json["value"] as? String))?.count == 16)
        #expect(try await send(h, .get, "/secrets?api-version=7.4", token: token).status == .badRequest)
    }

    @Test func securityDomainDownloadActivatesThroughAJob() async throws {
        let h = try await Harness()
        let token = try await pool(h, activated: false)
        let holders = try (0..<3).map { _ in try KeyMaterial.generate(.rsa, size: 2048) }
        var certificates: [[String: Any]] = []
        for (index, key) in holders.enumerated() {
            let der = try await TestCertificates.selfSigned(key, commonName: "holder \(index)")
            let jwk = key.publicJWK()
            certificates.append([
                "kty": "RSA", "kid": "holder \(index)", "key_ops": ["wrapKey"], "alg": "RSA-OAEP-256", "n": Base64.urlEncoded(jwk.n ?? []),
                "e": Base64.urlEncoded(jwk.e ?? []), "x5c": [Base64.standardEncoded(der)],
                "x5t#S256": Base64.urlEncoded(Digest.sha256(der)),
            ])
        }
        let download = try await send(
            h, .post, "/securitydomain/download?api-version=7.4", token: token, json: ["certificates": certificates, "required": 2])
        #expect(download.status == .accepted)
        #expect(download.headers[HTTPField.Name("Azure-AsyncOperation")!] == "https://\(Self.host)/securitydomain/download/pending")
        let document = try SecurityDomainFormat.parseDocument(try #require(download.json["value"] as? String))
        #expect(document.sharedKeys.required == 2)
        let status = try await send(h, .get, "/securitydomain/download/pending", token: token)
        #expect(status.text == #"{"status":"InProgress"}"#)

        let transfer = try await send(h, .get, "/securitydomain/upload?api-version=7.4", token: token)
        #expect(transfer.json["key_format"] as? String == "jwk")
        let jwk = try JSONSerialization.jsonObject(with: Data(try #require(transfer.json["transfer_key"] as? String).utf8)) as? [String: Any]
        #expect(jwk?["alg"] as? String == "RSA-OAEP-256" && (jwk?["x5c"] as? [String])?.count == 1)
    }

    /// What `coffre env --hsm` prints comes from the server: the pool, the test attestation service and a backup
    /// container of the Blob service whose SAS token the Blob service accepts.
    @Test func theEnvironmentOfAPoolNamesItsBackupContainerAndTheTestAttestationService() async throws {
        let h = try await Harness()
        _ = try await pool(h)
        let environment = try await h.admin(.get, "/coffre/v1/hsms/pool/environment")
        #expect(environment.status == .ok)
        let variables = try #require(environment.json as? [String: String])
        #expect(variables["AZURE_MANAGEDHSM_URL"] == "https://pool.managedhsm.localhost:8443")
        #expect(variables["AZURE_KEYVAULT_ATTESTATION_URL"] == "https://localhost:8443/test-attestation")
        #expect(variables["BLOB_STORAGE_URL"] == "https://coffrehsmbackups.blob.localhost:8443/")
        #expect(variables["BLOB_CONTAINER_NAME"] == "pool")
        let token = try #require(variables["BLOB_STORAGE_SAS_TOKEN"])
        let listed = try await h.send(.get, "/pool?restype=container&comp=list&" + token, host: "coffrehsmbackups.blob.localhost:8443")
        #expect(listed.status == .ok)
        #expect(try await h.admin(.get, "/coffre/v1/hsms/pool/environment").status == .ok) // the container exists: kept
        #expect(try await h.admin(.get, "/coffre/v1/hsms/nopool/environment").errorCode == "ManagedHsmNotFound")
    }

    /// The test attestation service answers anyone, on the server's own host only.
    @Test func theTestAttestationServiceIsOpenOnTheServerHost() async throws {
        let h = try await Harness()
        let token = try await h.send(.get, "/test-attestation/generate-test-token", host: "localhost:8443")
        #expect(token.status == .ok)
        let text = try #require(token.json["token"] as? String)
        let parsed = try #require(JWT.parse(text))
        #expect(parsed.header.jku == "https://localhost:8443/test-attestation/keys")
        let configuration = try await h.send(.get, "/test-attestation/.well-known/openid-configuration", host: "localhost:8443")
        #expect(configuration.json["jwks_uri"] as? String == "https://localhost:8443/test-attestation/keys")
        let keys = try await h.send(.get, "/test-attestation/keys", host: "localhost:8443")
        #expect((keys.json["keys"] as? [[String: Any]])?.first?["kid"] as? String == parsed.header.kid)
        #expect(try await h.send(.get, "/test-attestation/generate-test-token", host: Self.host).status == .unauthorized)
    }
}
