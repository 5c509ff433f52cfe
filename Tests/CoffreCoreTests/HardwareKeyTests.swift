import CoffreCertificates
import CoffreCrypto
import CoffreKeyCustody
import CoffreModel
import CoffreSoftHSMTestSupport
import CoffreStorage
import Foundation
import Testing

@testable import CoffreCore

/// A vault whose `-HSM` keys live in a SoftHSM2 token, as `coffre serve --pkcs11-module …` runs it.
struct HardwareFixture {
    let clock = ManualClock(Int64(Date().timeIntervalSince1970))
    let storage: MemoryStorage
    let backups: BackupCodec
    let hardware: PKCS11Custody
    let keys: KeyService
    let secrets: SecretService
    let certificates: CertificateService
    let vault: VaultRecord

    /// - Parameters:
    ///   - token: the token's label in the suite's SoftHSM (nil: no module, `-HSM` keys in software).
    ///   - backups: the backup key (two Coffres restore each other's backups when they share it).
    init(token: String, backups: BackupCodec? = nil) async throws {
        let storage = MemoryStorage()
        let hardware = try await SoftHSM.requireCurrent().custody(token).owned(by: try await CustodySweeper.installationTag(in: storage))
        try await self.init(storage: storage, hardware: hardware, backups: backups)
    }

    private init(storage: MemoryStorage, hardware: PKCS11Custody, backups: BackupCodec?) async throws {
        self.storage = storage
        self.hardware = hardware
        self.backups = try backups ?? BackupCodec(key: AEADKey(bytes: AEADKey.generate()))
        keys = KeyService(storage: storage, clock: clock, backups: self.backups, custody: RoutingCustody(hardware: hardware))
        secrets = SecretService(storage: storage, clock: clock, backups: self.backups)
        certificates = CertificateService(storage: storage, clock: clock, backups: self.backups, keys: keys, secrets: secrets)
        vault = try await VaultDirectory(storage: storage, clock: clock).create(VaultName("hsmvault"), settings: .init(), owner: nil)
    }

    var sweeper: CustodySweeper {
        CustodySweeper(hardware: hardware, storage: storage, keys: keys, certificates: certificates, clock: clock, grace: 600)
    }

    /// The labels of this installation's objects in the token.
    func objectLabels() async throws -> [String] {
        try await hardware.ownedObjects().map(\.label).sorted()
    }

    func create(_ name: String, _ type: KeyType, keyOps: [String]? = nil) async throws -> Versioned<KeyVersion> {
        try await keys.create(in: vault.name, name: name, spec: KeySpec(type: type), properties: .init(keyOps: keyOps))
    }

    func label(_ key: Versioned<KeyVersion>) -> String { "coffre:\(vault.name)/\(key.name)/\(key.record.version)" }

    /// Signs through the service and checks the signature with the key's public JWK in software.
    func expectSigns(_ name: String, algorithm: String, sourceLocation: SourceLocation = #_sourceLocation) async throws {
        let message = SecureRandom.bytes(32)
        let digest =
            algorithm.hasSuffix("384") ? Digest.sha384(message) : algorithm.hasSuffix("512") ? Digest.sha512(message) : Digest.sha256(message)
        let signed = try await keys.sign(in: vault.name, name: name, version: nil, algorithm: algorithm, digest: digest)
        let publicKey = try PublicKeyMaterial(jwk: signed.key.record.publicKey)
        #expect(try publicKey.verify(algorithm, digest: digest, signature: signed.value), sourceLocation: sourceLocation)
    }
}

/// A token's key material reference: `"CT"` stored forms, not private keys.
private func isTokenReference(_ material: String) -> Bool {
    Base64.decode(material).map { $0.starts(with: Array("CT".utf8)) } ?? false
}

private let sharedBackupKey = SecureRandom.bytes(32)

@Suite(
    .softHSM([
        .init("core", backupKey: .init(value: sharedBackupKey, trusted: true)),
        .init("sister", backupKey: .init(value: sharedBackupKey, trusted: true)),
        .init("stranger", backupKey: .init(value: SecureRandom.bytes(32), trusted: true)),
    ]))
struct HardwareKeyTests {
    @Test func hsmKeysAreTokenObjectsNamedAfterTheirVersionAndSoftwareKeysStayInTheBarrier() async throws {
        let f = try await HardwareFixture(token: "core")
        let rsa = try await f.create("rsa", .rsaHSM)
        let ec = try await f.create("ec", .ecHSM)
        let oct = try await f.create("oct", .octHSM, keyOps: ["encrypt", "decrypt", "sign", "verify"])
        let software = try await f.create("soft", .rsa)
        #expect(isTokenReference(rsa.record.material) && isTokenReference(ec.record.material) && isTokenReference(oct.record.material))
        #expect(!isTokenReference(software.record.material))
        #expect(rsa.record.keyType == .rsaHSM && rsa.record.size == 2048 && ec.record.curve == .p256 && oct.record.size == 256)
        #expect(try await f.objectLabels() == [f.label(ec), f.label(oct), f.label(rsa)].sorted())
        try await f.expectSigns("rsa", algorithm: "PS256")
        try await f.expectSigns("ec", algorithm: "ES256")
        try await f.expectSigns("soft", algorithm: "RS256")

        // Decryption and unwrap run in the module; encryption needs only the public part.
        let plaintext = SecureRandom.bytes(32)
        for algorithm in ["RSA-OAEP", "RSA-OAEP-256", "RSA1_5"] {
            let encrypted = try await f.keys.encrypt(in: f.vault.name, name: "rsa", version: nil, .init(algorithm: algorithm, value: plaintext))
            let decrypted = try await f.keys.decrypt(
                in: f.vault.name, name: "rsa", version: nil, .init(algorithm: algorithm, value: encrypted.value))
            #expect(decrypted.value == plaintext, "\(algorithm)")
            let wrapped = try await f.keys.wrapKey(in: f.vault.name, name: "rsa", version: nil, algorithm: algorithm, key: plaintext)
            let unwrapped = try await f.keys.unwrapKey(in: f.vault.name, name: "rsa", version: nil, algorithm: algorithm, wrappedKey: wrapped.value)
            #expect(unwrapped.value == plaintext, "\(algorithm)")
        }
        // An oct-HSM key encrypts and MACs in the module.
        let sealed = try await f.keys.encrypt(
            in: f.vault.name, name: "oct", version: nil, .init(algorithm: "A256GCM", value: plaintext, additionalData: [1]))
        let opened = try await f.keys.decrypt(
            in: f.vault.name, name: "oct", version: nil,
            .init(algorithm: "A256GCM", value: sealed.value, iv: sealed.iv, additionalData: [1], authenticationTag: sealed.authenticationTag))
        #expect(opened.value == plaintext)
        let mac = try await f.keys.sign(in: f.vault.name, name: "oct", version: nil, algorithm: "HS256", digest: plaintext)
        #expect(try await f.keys.verify(in: f.vault.name, name: "oct", version: nil, algorithm: "HS256", digest: plaintext, signature: mac.value))
    }

    @Test func rotationMakesObjectsDeleteAndRecoverKeepThemPurgeDestroysThem() async throws {
        let f = try await HardwareFixture(token: "core")
        let first = try await f.create("rotated", .ecHSM)
        let second = try await f.keys.rotate(in: f.vault.name, name: "rotated")
        #expect(isTokenReference(second.record.material) && second.record.keyType == .ecHSM)
        #expect(try await f.objectLabels() == [f.label(first), f.label(second)].sorted())
        _ = try await f.keys.delete(in: f.vault, name: "rotated")
        #expect(try await f.objectLabels().count == 2)
        _ = try await f.keys.recover(in: f.vault.name, name: "rotated")
        try await f.expectSigns("rotated", algorithm: "ES256")
        _ = try await f.keys.delete(in: f.vault, name: "rotated")
        try await f.keys.purge(in: f.vault, name: "rotated")
        #expect(try await f.objectLabels().isEmpty)
    }

    @Test func aVersionThatIsNotWrittenLeavesNoObject() async throws {
        let f = try await HardwareFixture(token: "core")
        _ = try await f.certificates.create(
            in: f.vault.name, name: "taken", policy: CertificateFixture.policy(keyType: "EC"), properties: .init())
        // The certificate's key has the name: a key version cannot be added to it, and the object made for it goes again.
        await #expect(throws: CoffreError.managedByCertificate(.key, name: "taken")) { try await f.create("taken", .rsaHSM) }
        #expect(try await f.objectLabels().isEmpty)
        // A bad request is refused before anything is made.
        await #expect(throws: CoffreError.self) { try await f.create("bad", .rsaHSM, keyOps: ["fly"]) }
        #expect(try await f.objectLabels().isEmpty)
    }

    @Test func backupsRestoreWhereTheBackupKeyIsAndNowhereElse() async throws {
        let f = try await HardwareFixture(token: "core")
        _ = try await f.create("portable", .rsaHSM)
        _ = try await f.keys.rotate(in: f.vault.name, name: "portable")
        let blob = try await f.keys.backup(in: f.vault.name, name: "portable")
        // The backup holds no stored token reference: the private key, wrapped by the token's backup key.
        _ = try await f.keys.delete(in: f.vault, name: "portable")
        try await f.keys.purge(in: f.vault, name: "portable")
        #expect(try await f.objectLabels().isEmpty)

        // The same token.
        let restored = try await f.keys.restore(in: f.vault.name, blob: blob)
        #expect(isTokenReference(restored.record.material))
        #expect(try await f.objectLabels().count == 2)
        try await f.expectSigns("portable", algorithm: "RS256")

        // A token sharing the backup key.
        let sister = try await HardwareFixture(token: "sister", backups: f.backups)
        _ = try await sister.keys.restore(in: sister.vault.name, blob: blob)
        try await sister.expectSigns("portable", algorithm: "RS512")
        #expect(try await sister.objectLabels().count == 2)

        // Anywhere else: refused, and nothing is created.
        let stranger = try await HardwareFixture(token: "stranger", backups: f.backups)
        let software = KeyService(storage: MemoryStorage(), clock: f.clock, backups: f.backups)
        for keys in [stranger.keys, software] {
            do {
                _ = try await keys.restore(in: f.vault.name, blob: blob)
                Issue.record("the backup restored outside the HSM boundary")
            } catch let error as CoffreError {
                #expect(error.description.contains("keys do not leave the HSM boundary"))
            }
        }
        #expect(try await stranger.objectLabels().isEmpty)
        await #expect(throws: CoffreError.notFound(.key, name: "portable")) {
            try await stranger.keys.get(in: stranger.vault.name, name: "portable", version: nil)
        }
    }

    @Test func byokImportsUnwrapInsideTheModule() async throws {
        let f = try await HardwareFixture(token: "core")
        let kek = try await f.create("kek", .rsaHSM, keyOps: ["import"])
        let kekPublic = try PublicKeyMaterial(jwk: kek.record.publicKey)
        let kid = "https://hsmvault.vault.localhost:8443/keys/kek/\(kek.record.version)"
        for (name, material, algorithm) in [
            ("byok-rsa", try KeyMaterial.generate(.rsa, size: 3072), "RS256"), ("byok-ec", try KeyMaterial.generate(.ec, curve: .p384), "ES384"),
        ] {
            let blob = try BYOKTool.file(wrapping: material, for: kekPublic, kid: kid)
            let type: KeyType = material.keyType.family == .rsa ? .rsaHSM : .ecHSM
            let imported = try await f.keys.importKey(
                in: f.vault.name, name: name, jwk: JsonWebKey(kty: type, t: blob), hsm: true, properties: .init())
            #expect(imported.record.keyType == type && isTokenReference(imported.record.material))
            #expect(imported.record.publicKey == material.publicJWK().withKeyType(type), "\(name)")
            try await f.expectSigns(name, algorithm: algorithm)
        }
        // The key-exchange key only imports.
        await #expect(throws: CoffreError.self) {
            try await f.keys.sign(in: f.vault.name, name: "kek", version: nil, algorithm: "RS256", digest: Digest.sha256([1]))
        }
        await #expect(throws: CoffreError.self) { try await f.create("kek2", .rsaHSM, keyOps: ["import", "sign"]) }
    }

    @Test func byokBlobsThatCannotBeImportedAreClearRefusalsThatCreateNothing() async throws {
        let f = try await HardwareFixture(token: "core")
        let kek = try await f.create("kek", .rsaHSM, keyOps: ["import"])
        let other = try await f.create("other", .rsaHSM, keyOps: ["import"])
        let signer = try await f.create("signer", .rsaHSM)
        let before = try await f.objectLabels()
        let material = try KeyMaterial.generate(.ec, curve: .p256)
        func blob(for key: Versioned<KeyVersion>, named kid: String) throws -> [UInt8] {
            try BYOKTool.file(wrapping: material, for: try PublicKeyMaterial(jwk: key.record.publicKey), kid: kid)
        }
        let kekID = "https://hsmvault.vault.localhost:8443/keys/kek/\(kek.record.version)"
        var tampered = try BYOKTransferBlob(keyHSM: try blob(for: kek, named: kekID))
        tampered = BYOKTransferBlob(keyExchangeKeyID: kekID, ciphertext: tampered.ciphertext.dropLast(8) + SecureRandom.bytes(8))
        let refused: [(String, [UInt8], KeyType)] = [
            ("made for another key-exchange key", try blob(for: other, named: kekID), .ecHSM),
            ("a key that is not a key-exchange key", try blob(for: signer, named: "/keys/signer"), .ecHSM),
            ("altered", tampered.keyHSM, .ecHSM),
            ("naming no key of the vault", try blob(for: kek, named: "https://hsmvault.vault.localhost/keys/nothing"), .ecHSM),
            ("not a blob", Array("{}".utf8), .ecHSM),
            ("of another type than the key", try blob(for: kek, named: kekID), .rsaHSM),
        ]
        for (reason, bytes, type) in refused {
            do {
                _ = try await f.keys.importKey(in: f.vault.name, name: "target", jwk: JsonWebKey(kty: type, t: bytes), hsm: true, properties: .init())
                Issue.record("a blob \(reason) was imported")
            } catch let error as CustodyFailure {
                #expect([.notAKeyExchangeKey].contains(error) || "\(error)".contains("BYOK"), "\(reason): \(error)")
            } catch let error as CoffreError {
                guard case .badParameter = error else { throw error }
            }
        }
        #expect(try await f.objectLabels() == before)
        await #expect(throws: CoffreError.notFound(.key, name: "target")) { try await f.keys.get(in: f.vault.name, name: "target", version: nil) }
    }

    @Test func certificatesWithHSMKeysKeepThemInTheTokenAndOutOfTheirSecret() async throws {
        let f = try await HardwareFixture(token: "core")
        var policy = CertificateFixture.policy(keyType: "RSA-HSM")
        let pending = try await f.certificates.create(in: f.vault.name, name: "tls", policy: policy, properties: .init())
        #expect(pending.status == .completed)
        let key = try await f.keys.get(in: f.vault.name, name: "tls", version: nil)
        #expect(isTokenReference(key.record.material) && key.record.exportable == false)
        let secret = try await f.secrets.get(in: f.vault.name, name: "tls", version: nil)
        #expect(!secret.record.value.isEmpty)
        #expect(try await f.certificates.policy(in: f.vault.name, name: "tls").exportable == false)
        policy.exportable = true
        await #expect(throws: CoffreError.self) {
            try await f.certificates.create(in: f.vault.name, name: "exported", policy: policy, properties: .init())
        }
        // A pending operation's key is in the token until it is merged; cancelling it destroys it.
        _ = try await f.certificates.create(
            in: f.vault.name, name: "later", policy: CertificateFixture.policy(issuer: "Unknown", keyType: "EC-HSM"), properties: .init())
        #expect(try await f.objectLabels().count == 2)
        _ = try await f.certificates.operations.cancel(in: f.vault.name, name: "later")
        #expect(try await f.objectLabels().count == 1)
        _ = try await f.certificates.delete(in: f.vault, name: "tls")
        try await f.certificates.purge(in: f.vault, name: "tls")
        #expect(try await f.objectLabels().isEmpty)
    }

    /// A pool's attestation key is one token object, which signs the statements; the sweep keeps it while the pool's
    /// record holds it and destroys it once the pool is gone.
    @Test func aPoolsAttestationKeyIsATokenObjectKeptWhileThePoolIs() async throws {
        let f = try await HardwareFixture(token: "core")
        let authority = try LocalCertificateAuthority.generate()
        let issuer = try CertificateIssuer(certificateDER: authority.certificateDER, key: SoftwareSigningKey(pkcs8DER: authority.privateKeyDER))
        let name = try ManagedHSMName("attesting")
        _ = try await ManagedHSMDirectory(storage: f.storage, clock: f.clock).create(
            name, settings: .init(tenantId: "tenant", administrators: ["0b0a0b0a-0000-4000-8000-00000000ad01"]), activated: true)
        let attestation = ManagedHSMKeyAttestation(storage: f.storage, clock: f.clock, issuer: issuer, custody: f.keys.custody)
        let subject = KeyAttestation.Subject(
            keyIdentifier: "https://attesting.managedhsm.localhost/keys/k/1", keyType: .octHSM, origin: .generated, publicKey: nil,
            exportable: false, created: f.clock.now)
        for _ in 0..<2 {
            let statement = String(decoding: try await attestation.attest(subject, in: name).privateKeyAttestation, as: UTF8.self)
            let stored = try #require(try await f.storage.read(PoolCertifiedKey.self, at: ManagedHSMPaths.attestationKey(name)))
            let publicKey = try #require(try stored.opened().key.publicKey)
            let parts = statement.split(separator: ".").map(String.init)
            let signature = try #require(Base64.decode(parts[2]))
            #expect(try publicKey.verify("RS256", digest: Digest.sha256(Array("\(parts[0]).\(parts[1])".utf8)), signature: signature))
        }
        #expect(try await f.objectLabels() == ["coffre-attestation:attesting"])

        let sweeper = f.sweeper
        #expect(try await sweeper.sweep() == 0)
        f.clock.advance(seconds: 600)
        #expect(try await sweeper.sweep() == 0)
        try await f.storage.transaction { try await $0.delete(ManagedHSMPaths.attestationKey(name)) }
        #expect(try await sweeper.sweep() == 0)
        f.clock.advance(seconds: 600)
        #expect(try await sweeper.sweep() == 1)
        #expect(try await f.objectLabels().isEmpty)
    }

    @Test func theSweepDestroysWhatNoRecordHoldsAfterTheGracePeriodOnly() async throws {
        let f = try await HardwareFixture(token: "core")
        let kept = try await f.create("kept", .ecHSM)
        // An object whose version never committed (as after a crash), and one of another installation sharing the token.
        let orphan = try await f.hardware.generate(
            KeySpec(type: .ecHSM), policy: KeyPolicy(), label: "coffre:\(f.vault.name)/ghost/0123456789abcdef0123456789abcdef")
        let neighbour = try await SoftHSM.requireCurrent().custody("core").owned(by: Array("neighbor".utf8))
        let foreign = try await neighbour.generate(KeySpec(type: .ecHSM), policy: KeyPolicy(), label: "coffre:\(f.vault.name)/ghost/0")
        let sweeper = f.sweeper
        #expect(try await sweeper.sweep() == 0)
        f.clock.advance(seconds: 300)
        #expect(try await sweeper.sweep() == 0)
        f.clock.advance(seconds: 300)
        #expect(try await sweeper.sweep() == 1)
        #expect(try await f.objectLabels() == [f.label(kept)])
        try await f.expectSigns("kept", algorithm: "ES256")
        #expect(try await neighbour.ownedObjects().map(\.label) == ["coffre:\(f.vault.name)/ghost/0"])
        try await neighbour.destroy(foreign)
        _ = orphan
    }
}

extension JsonWebKey {
    fileprivate func withKeyType(_ type: KeyType) -> JsonWebKey {
        var copy = self
        copy.kty = type.rawValue
        return copy
    }
}
