import CoffreCore
import CoffreCrypto
import CoffreJSON
import CoffreModel
import CoffreStorage
import Foundation
import Synchronization
import Testing

struct KeyFixture {
    let clock = ManualClock()
    let storage = MemoryStorage()
    let keys: KeyService
    let vaults: VaultDirectory
    let vault: VaultRecord

    init() async throws {
        keys = KeyService(storage: storage, clock: clock, backups: BackupCodec(key: try AEADKey(bytes: AEADKey.generate())))
        vaults = VaultDirectory(storage: storage, clock: clock)
        vault = try await vaults.create(VaultName("keyvault"), settings: .init(retentionDays: 7), owner: nil)
    }

    func ec(_ name: String, _ properties: KeyService.Properties = .init()) async throws -> Versioned<KeyVersion> {
        try await keys.create(in: vault.name, name: name, spec: .init(type: .ec, curve: .p256), properties: properties)
    }
}

@Suite struct KeyServiceTests {
    @Test func createKeepsOnlyPublicPartsVisibleAndDefaultsKeyOps() async throws {
        let f = try await KeyFixture()
        let key = try await f.ec("k")
        #expect(key.record.publicKey.d == nil && key.record.publicKey.x?.count == 32)
        #expect(key.record.keyOps == ["sign", "verify"])
        let oct = try await f.keys.create(in: f.vault.name, name: "o", spec: .init(type: .octHSM, size: 128), properties: .init())
        #expect(oct.record.keyOps == ["encrypt", "decrypt", "wrapKey", "unwrapKey"])
        #expect(oct.record.publicKey.k == nil)
        // The stored record holds the material only inside the barrier's value, never in the public JWK.
        let listed = try await f.keys.list(in: f.vault.name, after: nil, limit: 25)
        #expect(listed.items.map(\.name) == ["k", "o"])
    }

    @Test func keyOpsAreValidatedPerType() async throws {
        let f = try await KeyFixture()
        await #expect(throws: CoffreError.self) { try await f.ec("k", .init(keyOps: ["encrypt"])) }
        await #expect(throws: CoffreError.self) { try await f.ec("k", .init(keyOps: ["fly"])) }
        #expect(try await f.ec("k", .init(keyOps: ["SIGN"])).record.keyOps == ["sign"])
    }

    @Test func cryptoChecksEnabledWindowAndKeyOps() async throws {
        let f = try await KeyFixture()
        let digest = Digest.sha256(Array("message".utf8))
        let signature = [UInt8](repeating: 1, count: 64)
        let key = try await f.ec("k", .init(keyOps: ["verify"]))
        await #expect(throws: CoffreError.self) {
            try await f.keys.sign(in: f.vault.name, name: "k", version: nil, algorithm: "ES256", digest: digest)
        }
        _ = try await f.keys.verify(
            in: f.vault.name, name: "k", version: key.record.version, algorithm: "ES256", digest: digest, signature: signature)

        _ = try await f.ec("expired", .init(attributes: .init(expires: .some(f.clock.now - 10))))
        await #expect(throws: CoffreError.self) {
            try await f.keys.sign(in: f.vault.name, name: "expired", version: nil, algorithm: "ES256", digest: digest)
        }
        _ = try await f.keys.verify(in: f.vault.name, name: "expired", version: nil, algorithm: "ES256", digest: digest, signature: signature)

        _ = try await f.ec("off", .init(attributes: .init(enabled: false)))
        await #expect(throws: CoffreError.disabled(.key, operation: "verify")) {
            try await f.keys.verify(in: f.vault.name, name: "off", version: nil, algorithm: "ES256", digest: digest, signature: signature)
        }
    }

    @Test func signaturesVerifyAndFailuresAreBadParameter() async throws {
        let f = try await KeyFixture()
        let key = try await f.ec("k")
        let digest = Digest.sha256(Array("message".utf8))
        let signed = try await f.keys.sign(in: f.vault.name, name: "k", version: nil, algorithm: "ES256", digest: digest)
        #expect(signed.key.record.version == key.record.version)
        #expect(
            try await f.keys.verify(in: f.vault.name, name: "k", version: nil, algorithm: "ES256", digest: digest, signature: signed.value))
        await #expect(throws: CoffreError.self) {
            try await f.keys.sign(in: f.vault.name, name: "k", version: nil, algorithm: "ES256", digest: [1, 2, 3])
        }
        await #expect(throws: CoffreError.self) {
            try await f.keys.sign(in: f.vault.name, name: "k", version: nil, algorithm: "RS256", digest: digest)
        }
    }

    @Test func releasePolicyRules() async throws {
        let f = try await KeyFixture()
        let policy = KeyReleasePolicy(contentType: nil, immutable: true, data: Base64.urlEncoded(Array("{}".utf8)))
        await #expect(throws: CoffreError.self) { try await f.ec("a", .init(exportable: true)) }
        await #expect(throws: CoffreError.self) { try await f.ec("b", .init(releasePolicy: .some(policy))) }
        _ = try await f.ec("c", .init(exportable: true, releasePolicy: .some(policy)))
        await #expect(throws: CoffreError.badParameter("AKV.SKR.1020: Immutable Key Release Policy cannot be modified.")) {
            try await f.keys.update(in: f.vault.name, name: "c", version: nil, properties: .init(releasePolicy: .some(policy)))
        }
    }

    @Test func rotationCopiesSettingsAndAppliesPolicyExpiry() async throws {
        let f = try await KeyFixture()
        let original = try await f.keys.create(
            in: f.vault.name, name: "r", spec: .init(type: .rsa, size: 2048), properties: .init(keyOps: ["sign", "verify"], tags: .some(["t": "v"])))
        _ = try await f.keys.setRotationPolicy(
            in: f.vault.name, name: "r",
            policy: KeyRotationPolicy(lifetimeActions: [.init(timeAfterCreate: "P30D", timeBeforeExpiry: nil, action: "rotate")], expiryTime: "P90D"))
        let rotated = try await f.keys.rotate(in: f.vault.name, name: "r")
        #expect(rotated.record.version != original.record.version)
        #expect(rotated.record.keyOps == ["sign", "verify"] && rotated.record.tags == ["t": "v"] && rotated.record.size == 2048)
        #expect(rotated.record.attributes.expires == f.clock.now + 90 * 86_400)
        #expect(rotated.record.publicKey.n != original.record.publicKey.n)
    }

    @Test func rotationServiceActsOnceWhenDue() async throws {
        let f = try await KeyFixture()
        _ = try await f.ec("auto", .init(attributes: .init(expires: .some(f.clock.now + 60 * 86_400))))
        _ = try await f.keys.setRotationPolicy(
            in: f.vault.name, name: "auto",
            policy: KeyRotationPolicy(
                lifetimeActions: [
                    .init(timeAfterCreate: "P30D", timeBeforeExpiry: nil, action: "Rotate"),
                    .init(timeAfterCreate: nil, timeBeforeExpiry: "P45D", action: "Notify"),
                ], expiryTime: "P60D"))
        let notified = NotificationLog()
        let service = KeyRotationService(keys: f.keys, vaults: f.vaults, clock: f.clock) { _, name, _, _ in notified.add(name) }
        #expect(try await service.sweep().rotated.isEmpty)
        f.clock.advance(seconds: 16 * 86_400)
        let first = try await service.sweep()
        #expect(first.notified == ["keyvault/auto"] && first.rotated.isEmpty)
        #expect(try await service.sweep().notified.isEmpty) // once per version
        f.clock.advance(seconds: 15 * 86_400)
        #expect(try await service.sweep().rotated == ["keyvault/auto"])
        #expect(try await f.keys.versions(in: f.vault.name, name: "auto", after: nil, limit: 25).items.count == 2)
        #expect(try await service.sweep().rotated.isEmpty)
        #expect(notified.names == ["auto"])
    }

    @Test func rotationPolicyValidation() throws {
        let bad: [KeyRotationPolicy] = [
            .init(lifetimeActions: [.init(timeAfterCreate: "P1D", timeBeforeExpiry: "P1D", action: "Rotate")], expiryTime: nil),
            .init(lifetimeActions: [.init(timeAfterCreate: "P1D", timeBeforeExpiry: nil, action: "Explode")], expiryTime: nil),
            .init(lifetimeActions: [.init(timeAfterCreate: "soon", timeBeforeExpiry: nil, action: "Rotate")], expiryTime: nil),
            .init(lifetimeActions: [], expiryTime: "P7D"),
            .init(lifetimeActions: [.init(timeAfterCreate: nil, timeBeforeExpiry: "P7D", action: "Rotate")], expiryTime: nil),
        ]
        for policy in bad { #expect(throws: CoffreError.self) { try policy.validated() } }
        #expect(try ISODuration.seconds("P1Y2M3DT4H5M6S") == 365 * 86_400 + 60 * 86_400 + 3 * 86_400 + 4 * 3600 + 5 * 60 + 6)
        #expect(try ISODuration.seconds("P2W") == 14 * 86_400)
    }

    @Test func deleteRecoverPurgeAndScheduledPurge() async throws {
        let f = try await KeyFixture()
        _ = try await f.ec("k")
        _ = try await f.keys.setRotationPolicy(
            in: f.vault.name, name: "k", policy: KeyRotationPolicy(lifetimeActions: [], expiryTime: "P30D"))
        _ = try await f.keys.delete(in: f.vault, name: "k")
        await #expect(throws: CoffreError.deletedButRecoverable(.key, name: "k")) { try await f.ec("k") }
        _ = try await f.keys.recover(in: f.vault.name, name: "k")
        _ = try await f.keys.delete(in: f.vault, name: "k")
        f.clock.advance(seconds: 8 * 86_400)
        let sweeper = PurgeSweeper(
            storage: f.storage, clock: f.clock,
            secrets: SecretService(storage: f.storage, clock: f.clock, backups: BackupCodec(key: try AEADKey(bytes: AEADKey.generate()))),
            keys: f.keys)
        #expect(try await sweeper.sweep() == 1)
        #expect(try await f.storage.scan(prefix: "v/keyvault/", after: nil, limit: 10).isEmpty)
    }
}

final class NotificationLog: Sendable {
    private let log = Mutex<[String]>([])
    func add(_ name: String) { log.withLock { $0.append(name) } }
    var names: [String] { log.withLock { $0 } }
}

@Suite struct KeyPermissionMatrixTests {
    @Test func eachKeyPermissionAllowsExactlyItsOperations() throws {
        try expectEachPermissionAllowsExactlyItsOperations(
            .keys, operations: VaultOperation.keyOperations, refused: VaultOperation.secretOperations)
    }

    @Test func cryptoRolesGrantTheirDataActions() throws {
        let user: Set<VaultOperation> = [
            .keyGet, .keyList, .keyListVersions, .keyGetDeleted, .keyListDeleted, .keyUpdate, .keyBackup, .keyEncrypt, .keyDecrypt,
            .keyWrap, .keyUnwrap, .keySign, .keyVerify,
        ]
        let encryptionUser: Set<VaultOperation> = [.keyGet, .keyList, .keyListVersions, .keyGetDeleted, .keyListDeleted, .keyWrap, .keyUnwrap]
        for operation in VaultOperation.keyOperations {
            #expect(try roleAllows("Key Vault Crypto Officer", operation))
            #expect(try roleAllows("Key Vault Crypto User", operation) == user.contains(operation), "\(operation)")
            #expect(try roleAllows("Key Vault Crypto Service Encryption User", operation) == encryptionUser.contains(operation))
            #expect(try roleAllows("Key Vault Crypto Service Release User", operation) == (operation == .keyRelease))
            #expect(try !roleAllows("Key Vault Secrets Officer", operation))
        }
    }
}

@Suite struct ReleasePolicyTests {
    static let document = #"""
        {"version":"1.0.0","anyOf":[{"authority":"https://att.example/","allOf":[
          {"claim":"x-ms-attestation-type","equals":"sevsnpvm"},
          {"anyOf":[{"claim":"x-ms-isolation-tee.debuggable","equals":false},{"claim":"level","condition":"equals","value":"2"}]}]}]}
        """#

    func claims(_ json: String) throws -> JSONValue { try JSONDecoder().decode(JSONValue.self, from: Data(json.utf8)) }

    @Test func evaluatesAuthoritiesAndConditions() throws {
        let policy = try ReleasePolicyDocument(data: Array(Self.document.utf8))
        #expect(policy.authorities == ["https://att.example"])
        let good = try claims(#"{"x-ms-attestation-type":"sevsnpvm","x-ms-isolation-tee":{"debuggable":false}}"#)
        #expect(policy.allows(issuer: "https://att.example", claims: good))
        #expect(!policy.allows(issuer: "https://other.example", claims: good))
        #expect(policy.allows(issuer: "https://att.example/", claims: try claims(#"{"x-ms-attestation-type":"sevsnpvm","level":2}"#)))
        #expect(!policy.allows(issuer: "https://att.example", claims: try claims(#"{"x-ms-attestation-type":"sgx","level":2}"#)))
        #expect(!policy.allows(issuer: "https://att.example", claims: try claims(#"{"x-ms-attestation-type":"sevsnpvm"}"#)))
    }

    /// The SDK tests' policy: an authority entry whose conditions are an `anyOf` (the claim `sdk-test` must be true).
    @Test func anAuthorityEntryWithAnyOfConditionsEvaluatesThem() throws {
        let document = #"{"anyOf":[{"anyOf":[{"claim":"sdk-test","equals":true}],"authority":"https://att.example/"}],"version":"1.0.0"}"#
        let policy = try ReleasePolicyDocument(data: Array(document.utf8))
        #expect(policy.allows(issuer: "https://att.example/", claims: try claims(#"{"sdk-test":true}"#)))
        #expect(!policy.allows(issuer: "https://att.example/", claims: try claims(#"{"sdk-test":false}"#)))
        #expect(!policy.allows(issuer: "https://att.example/", claims: try claims("{}")))
    }

    @Test func unknownOperatorsAreRefusedNotIgnored() {
        let document = #"{"anyOf":[{"authority":"https://a","allOf":[{"claim":"x","greater":1}]}]}"#
        #expect(throws: CoffreError.self) { try ReleasePolicyDocument(data: Array(document.utf8)) }
        #expect(throws: CoffreError.self) { try ReleasePolicyDocument(data: Array("not json".utf8)) }
    }
}
