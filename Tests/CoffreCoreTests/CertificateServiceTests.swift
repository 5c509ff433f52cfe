import CoffreCertificates
import CoffreCore
import CoffreCrypto
import CoffreJSON
import CoffreModel
import CoffreStorage
import Foundation
import Synchronization
import Testing

struct CertificateFixture {
    let clock = ManualClock(Int64(Date().timeIntervalSince1970))
    let storage: any StorageBackend
    let keys: KeyService
    let secrets: SecretService
    let certificates: CertificateService
    let vaults: VaultDirectory
    let vault: VaultRecord

    init(
        storage: any StorageBackend = MemoryStorage(), vault name: String = "certvault",
        platformAuthority: CertificateService.PlatformAuthority? = nil
    ) async throws {
        self.storage = storage
        let backups = BackupCodec(key: try AEADKey(bytes: AEADKey.generate()))
        keys = KeyService(storage: storage, clock: clock, backups: backups)
        secrets = SecretService(storage: storage, clock: clock, backups: backups)
        certificates = CertificateService(
            storage: storage, clock: clock, backups: backups, keys: keys, secrets: secrets, platformAuthority: platformAuthority)
        vaults = VaultDirectory(storage: storage, clock: clock)
        vault = try await vaults.create(VaultName(name), settings: .init(retentionDays: 7), owner: nil)
    }

    static func policy(issuer: String = "Self", keyType: String = "EC", months: Int = 12) -> CertificatePolicy {
        var policy = CertificatePolicy()
        policy.subject = "CN=test.example"
        policy.subjectAlternativeNames = .init(dnsNames: ["test.example"])
        policy.issuerName = issuer
        policy.keyType = keyType
        policy.validityInMonths = months
        return policy
    }
}

@Suite struct CertificateServiceTests {
    @Test func aVersionIsACertificateAKeyAndASecretWithOneVersionId() async throws {
        let f = try await CertificateFixture()
        let operation = try await f.certificates.create(in: f.vault.name, name: "web", policy: CertificateFixture.policy(), properties: .init())
        #expect(operation.status == .completed)
        let (certificate, policy) = try await f.certificates.get(in: f.vault.name, name: "web", version: nil)
        let version = certificate.record.version
        #expect(policy?.keyType == "EC" && policy?.exportable == true)
        let key = try await f.keys.get(in: f.vault.name, name: "web", version: version)
        #expect(key.record.managed == true && key.record.keyOps == ["sign", "verify"])
        let secret = try await f.secrets.get(in: f.vault.name, name: "web", version: version)
        #expect(secret.record.managed == true && secret.record.keyPath == "/keys/web/\(version)")
        let bundle = try CertificateBundle(pkcs12: try #require(Base64.decode(secret.record.value)), password: nil)
        #expect(bundle.privateKeyPKCS8DER != nil)
        #expect(bundle.certificates.first == Base64.decode(certificate.record.cer))
        #expect(certificate.record.attributes.expires == key.record.attributes.expires)
    }

    /// Issue 27, point 7: a `platformManaged` policy (api-version 2026-04-01) is kept as given, and its certificate is
    /// issued by Coffre's own CA, named after itself when the policy names nothing.
    @Test func aPlatformManagedCertificateIsIssuedByCoffresOwnCA() async throws {
        let ca = try LocalCertificateAuthority.generate(commonName: "Coffre Test CA")
        let f = try await CertificateFixture(
            platformAuthority: try .init(certificateDER: ca.certificateDER, privateKeyPKCS8: ca.privateKeyDER))
        var policy = CertificatePolicy()
        policy.platformManaged = .init(
            certificateUsage: "ServerAuthentication", metadata: .object(["Region": .string("west"), "camelCase": .array([.number(1)])]))
        let operation = try await f.certificates.create(in: f.vault.name, name: "platform", policy: policy, properties: .init())
        #expect(operation.status == .completed)
        let (certificate, stored) = try await f.certificates.get(in: f.vault.name, name: "platform", version: nil)
        #expect(stored?.platformManaged == policy.platformManaged)
        #expect(stored?.issuerName == CertificatePolicy.platformIssuer)
        let info = try CertificateInfo(der: try #require(Base64.decode(certificate.record.cer)))
        #expect(info.subject == "CN=platform")
        #expect(info.issuer == (try CertificateInfo(der: ca.certificateDER)).subject)
        #expect(certificate.record.chain.compactMap { Base64.decode($0) }.contains(ca.certificateDER))

        policy.platformManaged?.certificateUsage = ""
        await #expect(throws: CoffreError.self) {
            try await f.certificates.create(in: f.vault.name, name: "unusable", policy: policy, properties: .init())
        }
        // A server without a CA refuses them.
        let without = try await CertificateFixture()
        policy.platformManaged?.certificateUsage = "ServerAuthentication"
        await #expect(throws: CoffreError.self) {
            try await without.certificates.create(in: without.vault.name, name: "platform", policy: policy, properties: .init())
        }
    }

    @Test func managedKeysAndSecretsAreChangedOnlyThroughTheCertificate() async throws {
        let f = try await CertificateFixture()
        _ = try await f.certificates.create(in: f.vault.name, name: "web", policy: CertificateFixture.policy(), properties: .init())
        await #expect(throws: CoffreError.managedByCertificate(.secret, name: "web")) {
            try await f.secrets.set(in: f.vault.name, name: "web", value: "v", properties: .init())
        }
        await #expect(throws: CoffreError.managedByCertificate(.key, name: "web")) { try await f.keys.delete(in: f.vault, name: "web") }
        await #expect(throws: CoffreError.self) { try await f.secrets.delete(in: f.vault, name: "web") }
    }

    @Test func unknownIssuerWaitsForAMergeWithThePendingKey() async throws {
        let f = try await CertificateFixture()
        let pending = try await f.certificates.create(
            in: f.vault.name, name: "ext", policy: CertificateFixture.policy(issuer: "Unknown"), properties: .init())
        #expect(pending.status == .inProgress && !pending.csr.isEmpty)
        await #expect(throws: CoffreError.certificateOperationInProgress("ext")) {
            try await f.certificates.create(in: f.vault.name, name: "ext", policy: CertificateFixture.policy(issuer: "Unknown"), properties: .init())
        }
        // Sign the CSR with a CA of our own.
        let caKey = try KeyMaterial.generate(.ec, curve: .p256)
        let caSigner = TestSigner(material: caKey)
        var caSpec = CertificatePolicySpec(subject: "CN=Test CA")
        caSpec.keyUsage = [.keyCertSign, .cRLSign]
        let ca = try await CertificateBuilder.makeCA(caSpec, key: caSigner)
        let csr = try #require(Base64.decode(pending.csr))
        let leaf = try await CertificateBuilder.issue(csr: csr, issuer: try CertificateIssuer(certificateDER: ca, key: caSigner), validityInMonths: 6)
        let stranger = try await CertificateBuilder.makeSelfSigned(
            CertificatePolicySpec(subject: "CN=x"), key: TestSigner(material: try KeyMaterial.generate(.ec)))
        await #expect(throws: CoffreError.self) {
            try await f.certificates.merge(in: f.vault.name, name: "ext", x5c: [Base64.standardEncoded(stranger)], properties: .init())
        }
        let merged = try await f.certificates.merge(
            in: f.vault.name, name: "ext", x5c: [Base64.standardEncoded(leaf), Base64.standardEncoded(ca)], properties: .init())
        #expect(merged.certificate.record.chain == [Base64.standardEncoded(ca)])
        #expect(try await f.certificates.operations.get(in: f.vault.name, name: "ext").status == .completed)
    }

    @Test func deleteRecoverAndPurgeCascade() async throws {
        let f = try await CertificateFixture()
        _ = try await f.certificates.create(in: f.vault.name, name: "c", policy: CertificateFixture.policy(), properties: .init())
        _ = try await f.certificates.delete(in: f.vault, name: "c")
        await #expect(throws: CoffreError.notFound(.key, name: "c")) { try await f.keys.get(in: f.vault.name, name: "c", version: nil) }
        _ = try await f.certificates.recover(in: f.vault.name, name: "c")
        _ = try await f.keys.get(in: f.vault.name, name: "c", version: nil)
        _ = try await f.certificates.delete(in: f.vault, name: "c")
        try await f.certificates.purge(in: f.vault, name: "c")
        #expect(try await f.storage.scan(prefix: "v/certvault/", after: nil, limit: 10).isEmpty)
    }

    @Test func lifetimeActionsRenewAndNotifyOnce() async throws {
        let f = try await CertificateFixture()
        var policy = CertificateFixture.policy(months: 10)
        policy.lifetimeActions = [.init(lifetimePercentage: 50, action: "AutoRenew"), .init(daysBeforeExpiry: 200, action: "EmailContacts")]
        _ = try await f.certificates.create(in: f.vault.name, name: "auto", policy: policy, properties: .init())
        _ = try await f.certificates.contacts.set([CertificateContact(email: "ops@example.com", name: nil, phone: nil)], in: f.vault.name)
        let notifications = Mutex<[CertificateLifecycleService.Notification]>([])
        let service = CertificateLifecycleService(certificates: f.certificates, vaults: f.vaults, clock: f.clock) { notification in
            notifications.withLock { $0.append(notification) }
        }
        #expect(try await service.sweep() == ([], []))
        f.clock.advance(seconds: 110 * 86_400) // within 200 days of expiry
        #expect(try await service.sweep().notified == ["certvault/auto"])
        #expect(notifications.withLock { $0.first?.contacts.first?.email } == "ops@example.com")
        f.clock.advance(seconds: 50 * 86_400) // past half of the lifetime
        #expect(try await service.sweep().renewed == ["certvault/auto"])
        #expect(try await service.sweep() == ([], []))
        #expect(try await f.certificates.versions(in: f.vault.name, name: "auto", after: nil, limit: 25).items.count == 2)
    }

    @Test func policiesAreValidated() async throws {
        let f = try await CertificateFixture()
        var bad = CertificateFixture.policy()
        bad.keyType = "RSA"
        bad.keySize = 1024
        await #expect(throws: CoffreError.self) { try await f.certificates.create(in: f.vault.name, name: "b", policy: bad, properties: .init()) }
        var noSubject = CertificatePolicy()
        noSubject.issuerName = "Self"
        await #expect(throws: CoffreError.self) {
            try await f.certificates.create(in: f.vault.name, name: "b", policy: noSubject, properties: .init())
        }
        var unknownAction = CertificateFixture.policy()
        unknownAction.lifetimeActions = [.init(lifetimePercentage: 10, action: "Explode")]
        await #expect(throws: CoffreError.self) {
            try await f.certificates.create(in: f.vault.name, name: "b", policy: unknownAction, properties: .init())
        }
    }
}

/// A key of the engine signing for certificates in tests (the server's own adapter is internal to CoffreCore).
struct TestSigner: CertificateSigningKey {
    let material: KeyMaterial
    var subjectPublicKeyInfoDER: [UInt8] { get throws { try material.subjectPublicKeyInfoDER } }
    var certificateSignatureAlgorithm: CertificateSignatureAlgorithm { .ecdsaWithSHA256 }
    func signForCertificate(_ message: [UInt8]) throws -> [UInt8] {
        let raw = try material.sign("ES256", digest: Digest.sha256(message))
        func integer(_ bytes: ArraySlice<UInt8>) -> [UInt8] {
            var value = Array(bytes.drop { $0 == 0 })
            if value.isEmpty || value[0] & 0x80 != 0 { value.insert(0, at: 0) }
            return [0x02, UInt8(value.count)] + value
        }
        let body = integer(raw[..<32]) + integer(raw[32...])
        return [0x30, UInt8(body.count)] + body
    }
}

@Suite struct CertificatePermissionMatrixTests {
    @Test func eachCertificatePermissionAllowsExactlyItsOperations() throws {
        try expectEachPermissionAllowsExactlyItsOperations(.certificates, operations: VaultOperation.certificateOperations)
    }

    @Test func certificateRolesGrantTheirDataActions() throws {
        for operation in VaultOperation.certificateOperations {
            #expect(try roleAllows("Key Vault Certificates Officer", operation))
            #expect(try roleAllows("Key Vault Certificate User", operation) == (operation.dataAction.hasSuffix("certificates/read")), "\(operation)")
            #expect(try !roleAllows("Key Vault Secrets Officer", operation))
        }
        #expect(try roleAllows("Key Vault Certificate User", .secretGet))
    }
}
