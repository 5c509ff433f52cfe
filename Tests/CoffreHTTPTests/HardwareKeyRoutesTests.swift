import CoffreCrypto
import CoffreKeyCustody
import CoffreModel
import CoffreServer
import CoffreSoftHSMTestSupport
import Foundation
import HTTPTypes
import Testing

/// Hardware keys as a client sees them, through the one router: where the token is unreachable, what answers; which
/// keys of a Managed HSM pool the token holds.
@Suite(.softHSM([.init("routes"), .init("pool")]), .serialized)
struct HardwareKeyRoutesTests {
    let digest = Base64.urlEncoded(Digest.sha256(Array("message".utf8)))

    func create(_ h: Harness, _ name: String, _ body: [String: Any], host: String? = nil, token: String) async throws -> String {
        let created = try await h.send(.post, "/keys/\(name)/create?api-version=7.4", host: host, token: token, json: body)
        #expect(created.status == .ok, "\(created.text)")
        return try #require((created.json["key"] as? [String: Any])?["kid"] as? String)
    }

    func sign(_ h: Harness, _ name: String, algorithm: String, host: String? = nil, token: String) async throws -> Harness.Reply {
        try await h.send(.post, "/keys/\(name)//sign?api-version=7.4", host: host, token: token, json: ["alg": algorithm, "value": digest])
    }

    @Test func whileTheModuleIsLostHardwareKeysAnswer503WithRetryAfterAndSoftwareKeysWork() async throws {
        let hsm = try SoftHSM.requireCurrent()
        let h = try await Harness(hardware: try await hsm.custody("routes"))
        let token = try await h.adminToken()
        _ = try await create(h, "hardware", ["kty": "EC-HSM", "crv": "P-256"], token: token)
        _ = try await create(h, "software", ["kty": "EC", "crv": "P-256"], token: token)
        #expect(try await sign(h, "hardware", algorithm: "ES256", token: token).status == .ok)

        try hsm.closeAllSessions("routes")
        let lost = try await sign(h, "hardware", algorithm: "ES256", token: token)
        #expect(lost.status == .serviceUnavailable && lost.errorCode == "ServiceUnavailable")
        #expect(lost.headers[HTTPField.Name("Retry-After")!] == "5")
        #expect(try await sign(h, "software", algorithm: "ES256", token: token).status == .ok)
        // The next call reconnects and logs in again.
        #expect(try await sign(h, "hardware", algorithm: "ES256", token: token).status == .ok)
    }

    /// Every key of a pool, AES keys included, and the pool's attestation key.
    @Test func everyKeyOfAPoolAndItsAttestationKeyAreTokenObjects() async throws {
        let hsm = try SoftHSM.requireCurrent()
        let h = try await Harness(hardware: try await hsm.custody("pool"))
        let poolHost = "pool.managedhsm.localhost:8443"
        #expect(try await h.admin(.post, "/coffre/v1/hsms", json: ["name": "pool", "activated": true]).status == .created)
        let token = try await h.adminToken(resource: "https://managedhsm.localhost:8443")
        let assigned = try await h.send(
            .put, "/keys/providers/Microsoft.Authorization/roleAssignments/\(UUID().uuidString.lowercased())?api-version=7.4", host: poolHost,
            token: token,
            json: ["properties": ["roleDefinitionId": "21dbd100-6940-42c2-9190-5d6cb909625b", "principalId": h.server.state.identity.adminObjectId]])
        #expect(assigned.status == .created)

        // A pool's RSA and EC requests make -HSM keys, each one object of the token named after its version.
        let rsa = try await create(h, "pool-rsa", ["kty": "RSA", "key_size": 2048], host: poolHost, token: token)
        let ec = try await create(h, "pool-ec", ["kty": "EC", "crv": "P-256"], host: poolHost, token: token)
        let labels = try hsm.pkcs11Tool("pool", "--list-objects", "--type", "privkey")
        for (kid, name) in [(rsa, "pool-rsa"), (ec, "pool-ec")] {
            let version = try #require(kid.split(separator: "/").last)
            #expect(labels.contains("coffre:pool/\(name)/\(version)"), "\(labels)")
        }
        #expect(try await sign(h, "pool-rsa", algorithm: "PS256", host: poolHost, token: token).status == .ok)
        #expect(try await sign(h, "pool-ec", algorithm: "ES256", host: poolHost, token: token).status == .ok)

        // An oct request makes an oct-HSM key: an AES object and its HMAC twin, which encrypt and MAC in the module.
        let oct = try await create(
            h, "pool-oct", ["kty": "oct", "key_size": 256, "key_ops": ["encrypt", "sign"]], host: poolHost, token: token)
        let octVersion = try #require(oct.split(separator: "/").last)
        let secrets = try hsm.pkcs11Tool("pool", "--list-objects", "--type", "secrkey")
        #expect(secrets.components(separatedBy: "coffre:pool/pool-oct/\(octVersion)").count == 3, "\(secrets)")
        let encrypted = try await h.send(
            .post, "/keys/pool-oct//encrypt?api-version=7.4", host: poolHost, token: token, json: ["alg": "A256GCM", "value": digest])
        #expect(encrypted.status == .ok, "\(encrypted.text)")
        #expect(try await sign(h, "pool-oct", algorithm: "HS256", host: poolHost, token: token).status == .ok)

        // The pool's attestation key signs in the token too.
        let attested = try await h.send(.get, "/keys/pool-ec//attestation?api-version=7.6", host: poolHost, token: token)
        #expect(attested.status == .ok, "\(attested.text)")
        #expect(try hsm.pkcs11Tool("pool", "--list-objects", "--type", "privkey").contains("coffre-attestation:pool"))
    }
}
