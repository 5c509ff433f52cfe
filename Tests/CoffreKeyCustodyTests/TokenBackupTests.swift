import CPKCS11
import CoffreCrypto
import CoffreSoftHSMTestSupport
import Testing

@testable import CoffreKeyCustody

/// The backup wrapping key of tokens that share one.
private let sharedBackupKeyValue = SecureRandom.bytes(32)

/// Hardware-key backups: wrapped by the token's backup wrapping key, restorable only where the same key is.
@Suite(
    .softHSM([
        .init("backup-a", backupKey: .init(value: sharedBackupKeyValue, trusted: true)),
        .init("backup-b", backupKey: .init(value: sharedBackupKeyValue, trusted: true)),
        .init("backup-c", backupKey: .init(value: SecureRandom.bytes(32), trusted: true)),
        .init("backup-untrusted", backupKey: .init(value: sharedBackupKeyValue, trusted: false)),
        .init("backup-none"),
    ]))
struct TokenBackupTests {
    private func custody(_ label: String) async throws -> PKCS11Custody {
        try await SoftHSM.requireCurrent().custody(label)
    }

    /// With a trusted backup key in the token, a non-exportable key is extractable only under trusted keys: its backup
    /// restores, within the token and into another token holding the same wrapping key.
    @Test(arguments: [KeySpec(type: .rsaHSM), KeySpec(type: .ecHSM, curve: .p384)])
    func backupsRestoreWhereTheWrappingKeyIs(spec: KeySpec) async throws {
        let a = try await custody("backup-a")
        let key = try await a.generate(spec, policy: KeyPolicy(), label: "to-back-up")
        let backup = try await a.backup(key)
        #expect(backup.starts(with: Array("CB".utf8)))
        try await a.destroy(key)

        let restored = try await a.restore(backup, label: "restored")
        #expect(restored.publicJWK() == key.publicJWK())
        try await a.expectSignatureVerifies(restored, algorithm: spec.type == .rsaHSM ? "PS256" : "ES384")

        let b = try await custody("backup-b")
        let elsewhere = try await b.restore(backup, label: "restored-in-b")
        try await b.expectSignatureVerifies(elsewhere, algorithm: spec.type == .rsaHSM ? "RS512" : "ES384")

        await expectFailure(CustodyFailure.backupNotRestorable("it was made under another backup wrapping key, or altered")) {
            try await custody("backup-c").restore(backup, label: "refused")
        }
        await expectFailure(CustodyFailure.backupKeyMissing(label: "coffre-backup")) {
            try await custody("backup-none").restore(backup, label: "refused")
        }
        #expect(try await custody("backup-c").objectCount(labelled: "refused") == 0)
    }

    /// The token, not only Coffre, keeps a non-exportable key in: an untrusted key of the user cannot wrap it, and
    /// release refuses it.
    @Test func nonExportableKeysLeaveOnlyUnderTrustedKeys() async throws {
        let a = try await custody("backup-a")
        let key = try await a.generate(KeySpec(type: .rsaHSM), policy: KeyPolicy(), label: "trusted-only")
        guard case .token(let tokenKey) = key else { throw SoftHSMError("not a token key") }
        let attributes = try await a.inspect(tokenKey)
        #expect(attributes.sensitive && attributes.valueHidden)
        let refused = try await a.withSession { session -> CK_RV? in
            let aes = try session.generateKey(
                .plain(CKM_AES_KEY_GEN),
                template: [(CKA_TOKEN, .bool(false)), (CKA_VALUE_LEN, .ulong(32)), (CKA_WRAP, .bool(true)), (CKA_KEY_TYPE, .ulong(CKK_AES))])
            defer { try? session.destroy(aes) }
            let object = try session.find([(CKA_CLASS, .ulong(CKO_PRIVATE_KEY)), (CKA_ID, .bytes(tokenKey.objectID))])[0]
            do {
                _ = try session.wrap(.plain(CKM_AES_KEY_WRAP_PAD), wrappingKey: aes, key: object)
                return nil
            } catch let error as PKCS11Error {
                return error.value
            }
        }
        #expect(refused == CKR_KEY_NOT_WRAPPABLE)
        await expectFailure(CustodyFailure.notExtractable) {
            try await a.release(key, to: try KeyMaterial.generate(.rsa).publicKey!, encryption: .rsaAESKeyWrap)
        }
    }

    /// Without a trusted backup key, a non-exportable key is never extractable: no backup, said clearly. An exportable
    /// key backs up under an untrusted wrapping key.
    @Test func withoutATrustedKeyOnlyExportableKeysBackUp() async throws {
        let untrusted = try await custody("backup-untrusted")
        let kept = try await untrusted.generate(KeySpec(type: .ecHSM), policy: KeyPolicy(), label: "never-leaves")
        guard case .token(let tokenKey) = kept else { throw SoftHSMError("not a token key") }
        #expect(try await !untrusted.inspect(tokenKey).extractable)
        await expectFailure(CustodyFailure.notExtractable) { try await untrusted.backup(kept) }

        let exportable = try await untrusted.generate(KeySpec(type: .ecHSM), policy: KeyPolicy(exportable: true), label: "exportable")
        let backup = try await untrusted.backup(exportable)
        let restored = try await untrusted.restore(backup, label: "exportable-restored")
        guard case .token(let restoredKey) = restored else { throw SoftHSMError("not a token key") }
        #expect(restoredKey.policy == KeyPolicy(exportable: true))
        try await untrusted.expectSignatureVerifies(restored, algorithm: "ES256")
        // The same wrapping key value is in token A (trusted there): the backup restores there too.
        _ = try await custody("backup-a").restore(backup, label: "exportable-in-a")
    }

    @Test func withoutAWrappingKeyThereIsNoBackup() async throws {
        let none = try await custody("backup-none")
        let key = try await none.generate(KeySpec(type: .rsaHSM), policy: KeyPolicy(exportable: true), label: "no-backup")
        await expectFailure(CustodyFailure.backupKeyMissing(label: "coffre-backup")) { try await none.backup(key) }
    }

    @Test func alteredBackupsAreRefused() async throws {
        let a = try await custody("backup-a")
        let key = try await a.generate(KeySpec(type: .rsaHSM), policy: KeyPolicy(), label: "altered-backup")
        var backup = try await a.backup(key)
        let stored = try TokenBackup(encoded: backup)
        var wrapped = stored.wrappedKey
        wrapped[20] ^= 1
        await expectFailure(CustodyFailure.backupNotRestorable("it was made under another backup wrapping key, or altered")) {
            try await a.restore(TokenBackup(shape: stored.shape, policy: stored.policy, wrappedKey: wrapped).encoded, label: "x")
        }
        // A backup that carries another key's public part restores nothing.
        let other = try await a.generate(KeySpec(type: .rsaHSM), policy: KeyPolicy(), label: "other")
        let swapped = TokenBackup(shape: .keyPair(other.publicKey!), policy: stored.policy, wrappedKey: stored.wrappedKey).encoded
        await expectFailure(CustodyFailure.backupNotRestorable("the key in it is not the key it describes")) {
            try await a.restore(swapped, label: "swapped")
        }
        #expect(try await a.objectCount(labelled: "swapped") == 0)
        backup[0] = 0
        await expectFailure(CustodyFailure.backupNotRestorable("it is not a hardware key backup")) { try await a.restore(backup, label: "y") }
    }
}
