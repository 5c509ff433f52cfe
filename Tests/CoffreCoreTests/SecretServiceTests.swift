import CoffreCore
import CoffreCrypto
import CoffreModel
import CoffreStorage
import Testing

/// A secret service on in-memory storage with a manual clock, and a vault with 7 days of retention.
struct SecretFixture {
    let clock = ManualClock()
    let storage = MemoryStorage()
    let secrets: SecretService
    let vaults: VaultDirectory
    let vault: VaultRecord

    init(purgeProtection: Bool = false, backupKey: [UInt8] = AEADKey.generate()) async throws {
        secrets = SecretService(storage: storage, clock: clock, backups: BackupCodec(key: try AEADKey(bytes: backupKey)))
        vaults = VaultDirectory(storage: storage, clock: clock)
        vault = try await vaults.create(VaultName("testvault"), settings: .init(retentionDays: 7, purgeProtection: purgeProtection), owner: nil)
    }
}

@Suite struct SecretServiceTests {
    @Test func setCreatesVersionsAndGetReturnsLatestOrAVersion() async throws {
        let f = try await SecretFixture()
        let first = try await f.secrets.set(in: f.vault.name, name: "Db-Password", value: "one", properties: .init())
        f.clock.advance(seconds: 1)
        let second = try await f.secrets.set(
            in: f.vault.name, name: "db-password", value: "two", properties: .init(contentType: "text/plain", tags: ["env": "test"]))
        #expect(first.record.version != second.record.version)
        #expect(second.name == "Db-Password")
        #expect(try await f.secrets.get(in: f.vault.name, name: "DB-PASSWORD", version: nil).record.value == "two")
        #expect(try await f.secrets.get(in: f.vault.name, name: "db-password", version: "").record.value == "two")
        #expect(try await f.secrets.get(in: f.vault.name, name: "db-password", version: first.record.version.uppercased()).record.value == "one")
        await #expect(throws: CoffreError.self) {
            try await f.secrets.get(in: f.vault.name, name: "db-password", version: String(repeating: "0", count: 32))
        }
        await #expect(throws: CoffreError.notFound(.secret, name: "nope")) { try await f.secrets.get(in: f.vault.name, name: "nope", version: nil) }
    }

    @Test func limitsAreEnforced() async throws {
        let f = try await SecretFixture()
        let vault = f.vault.name
        _ = try await f.secrets.set(in: vault, name: "max", value: String(repeating: "v", count: 25 * 1024), properties: .init())
        await #expect(throws: CoffreError.self) {
            try await f.secrets.set(in: vault, name: "big", value: String(repeating: "v", count: 25 * 1024 + 1), properties: .init())
        }
        await #expect(throws: CoffreError.self) {
            try await f.secrets.set(in: vault, name: "ct", value: "v", properties: .init(contentType: String(repeating: "c", count: 256)))
        }
        await #expect(throws: CoffreError.self) {
            try await f.secrets.set(
                in: vault, name: "tags", value: "v", properties: .init(tags: Dictionary(uniqueKeysWithValues: (0..<16).map { ("t\($0)", "v") })))
        }
        await #expect(throws: CoffreError.self) { try await f.secrets.set(in: vault, name: "bad_name", value: "v", properties: .init()) }
        // Nothing of a refused write is left behind.
        #expect(try await f.secrets.list(in: vault, after: nil, limit: 25).items.map(\.name) == ["max"])
    }

    @Test func disabledSecretsKeepTheirValueHidden() async throws {
        let f = try await SecretFixture()
        _ = try await f.secrets.set(in: f.vault.name, name: "s", value: "v", properties: .init(attributes: .init(enabled: false)))
        await #expect(throws: CoffreError.disabled(.secret, operation: "get")) { try await f.secrets.get(in: f.vault.name, name: "s", version: nil) }
        let updated = try await f.secrets.update(in: f.vault.name, name: "s", version: nil, properties: .init(attributes: .init(enabled: true)))
        #expect(updated.record.attributes.enabled)
        #expect(try await f.secrets.get(in: f.vault.name, name: "s", version: nil).record.value == "v")
    }

    @Test func updateChangesOnlyWhatIsGivenAndKeepsTheListInStep() async throws {
        let f = try await SecretFixture()
        let created = try await f.secrets.set(in: f.vault.name, name: "s", value: "v", properties: .init(contentType: "a", tags: ["x": "1"]))
        f.clock.advance(seconds: 5)
        let updated = try await f.secrets.update(
            in: f.vault.name, name: "s", version: created.record.version, properties: .init(attributes: .init(expires: .some(99))))
        #expect(updated.record.contentType == "a")
        #expect(updated.record.tags == ["x": "1"])
        #expect(updated.record.attributes.expires == 99)
        #expect(updated.record.attributes.updated == created.record.attributes.updated + 5)
        #expect(updated.record.value == "v")
        let listed = try #require(try await f.secrets.list(in: f.vault.name, after: nil, limit: 25).items.first)
        #expect(listed.summary.attributes.expires == 99)
    }

    @Test func listsPageInNameOrder() async throws {
        let f = try await SecretFixture()
        for index in 0..<7 { _ = try await f.secrets.set(in: f.vault.name, name: "s\(index)", value: "v", properties: .init()) }
        for _ in 0..<3 { _ = try await f.secrets.set(in: f.vault.name, name: "s3", value: "again", properties: .init()) }
        var names: [String] = []
        var cursor: String?
        repeat {
            let page = try await f.secrets.list(in: f.vault.name, after: cursor, limit: 3)
            names += page.items.map(\.name)
            cursor = page.next
        } while cursor != nil
        #expect(names == (0..<7).map { "s\($0)" })
        let versions = try await f.secrets.versions(in: f.vault.name, name: "s3", after: nil, limit: 25)
        #expect(versions.items.count == 4)
        #expect(versions.items.filter(\.isLatest).count == 1)
    }

    @Test func softDeleteRecoverAndPurge() async throws {
        let f = try await SecretFixture()
        _ = try await f.secrets.set(in: f.vault.name, name: "s", value: "v1", properties: .init())
        _ = try await f.secrets.set(in: f.vault.name, name: "s", value: "v2", properties: .init())
        let deleted = try await f.secrets.delete(in: f.vault, name: "s")
        #expect(deleted.deletion == Deletion(deletedDate: f.clock.now, scheduledPurgeDate: f.clock.now + 7 * 86_400))
        await #expect(throws: CoffreError.notFound(.secret, name: "s")) { try await f.secrets.get(in: f.vault.name, name: "s", version: nil) }
        await #expect(throws: CoffreError.deletedButRecoverable(.secret, name: "S")) {
            try await f.secrets.set(in: f.vault.name, name: "S", value: "v3", properties: .init())
        }
        #expect(try await f.secrets.listDeleted(in: f.vault.name, after: nil, limit: 25).items.map(\.name) == ["s"])
        #expect(try await f.secrets.deleted(in: f.vault.name, name: "s").record.value == "v2")

        _ = try await f.secrets.recover(in: f.vault.name, name: "s")
        #expect(try await f.secrets.versions(in: f.vault.name, name: "s", after: nil, limit: 25).items.count == 2)
        await #expect(throws: CoffreError.deletedNotFound(.secret, name: "s")) { try await f.secrets.deleted(in: f.vault.name, name: "s") }

        _ = try await f.secrets.delete(in: f.vault, name: "s")
        try await f.secrets.purge(in: f.vault, name: "s")
        await #expect(throws: CoffreError.deletedNotFound(.secret, name: "s")) { try await f.secrets.purge(in: f.vault, name: "s") }
        // The name is free again, with no old version left.
        _ = try await f.secrets.set(in: f.vault.name, name: "s", value: "fresh", properties: .init())
        #expect(try await f.secrets.versions(in: f.vault.name, name: "s", after: nil, limit: 25).items.count == 1)
        #expect(try await f.storage.scan(prefix: "purge/", after: nil, limit: 10).isEmpty)
    }

    @Test func purgeProtectionRefusesPurge() async throws {
        let f = try await SecretFixture(purgeProtection: true)
        _ = try await f.secrets.set(in: f.vault.name, name: "s", value: "v", properties: .init())
        _ = try await f.secrets.delete(in: f.vault, name: "s")
        await #expect(throws: CoffreError.purgeProtected(vault: "testvault")) { try await f.secrets.purge(in: f.vault, name: "s") }
    }

    @Test func scheduledPurgeHappensWhenDue() async throws {
        let f = try await SecretFixture()
        let sweeper = PurgeSweeper(
            storage: f.storage, clock: f.clock, secrets: f.secrets,
            keys: KeyService(storage: f.storage, clock: f.clock, backups: BackupCodec(key: try AEADKey(bytes: AEADKey.generate()))))
        _ = try await f.secrets.set(in: f.vault.name, name: "early", value: "v", properties: .init())
        _ = try await f.secrets.set(in: f.vault.name, name: "late", value: "v", properties: .init())
        _ = try await f.secrets.delete(in: f.vault, name: "early")
        f.clock.advance(seconds: 86_400)
        _ = try await f.secrets.delete(in: f.vault, name: "late")
        #expect(try await sweeper.sweep() == 0)
        f.clock.advance(seconds: 6 * 86_400)
        #expect(try await sweeper.sweep() == 1)
        #expect(try await f.secrets.listDeleted(in: f.vault.name, after: nil, limit: 25).items.map(\.name) == ["late"])
        f.clock.advance(seconds: 86_400)
        #expect(try await sweeper.sweep(batch: 1) == 1)
        #expect(try await f.secrets.listDeleted(in: f.vault.name, after: nil, limit: 25).items.isEmpty)
        #expect(try await f.storage.scan(prefix: "v/testvault/secret-ver/", after: nil, limit: 10).isEmpty)
    }

    @Test func backupRestoresEveryVersionAndRefusesTamperingAndForeignKeys() async throws {
        let key = AEADKey.generate()
        let f = try await SecretFixture(backupKey: key)
        let v1 = try await f.secrets.set(in: f.vault.name, name: "s", value: "first-plaintext-value", properties: .init(tags: ["t": "1"]))
        let v2 = try await f.secrets.set(in: f.vault.name, name: "s", value: "v2", properties: .init())
        let blob = try await f.secrets.backup(in: f.vault.name, name: "s")
        let decoded = try #require(Base64.decode(blob))
        #expect(!String(decoding: decoded, as: UTF8.self).contains("first-plaintext-value"))
        await #expect(throws: CoffreError.self) { try await f.secrets.restore(in: f.vault.name, blob: blob) }
        _ = try await f.secrets.delete(in: f.vault, name: "s")
        try await f.secrets.purge(in: f.vault, name: "s")

        var tampered = Array(blob.utf8)
        tampered[tampered.count / 2] = tampered[tampered.count / 2] == UInt8(ascii: "A") ? UInt8(ascii: "B") : UInt8(ascii: "A")
        await #expect(throws: CoffreError.self) { try await f.secrets.restore(in: f.vault.name, blob: String(decoding: tampered, as: UTF8.self)) }
        let foreign = try await SecretFixture()
        await #expect(throws: CoffreError.self) { try await foreign.secrets.restore(in: foreign.vault.name, blob: blob) }

        let restored = try await f.secrets.restore(in: f.vault.name, blob: blob)
        #expect(restored.record.version == v2.record.version)
        #expect(try await f.secrets.get(in: f.vault.name, name: "s", version: v1.record.version).record.tags == ["t": "1"])
        #expect(try await f.secrets.get(in: f.vault.name, name: "s", version: v1.record.version).record.value == "first-plaintext-value")
        // The same key restores into another vault of the same server.
        let other = try await f.vaults.create(VaultName("othervault"), settings: .init(), owner: nil)
        #expect(try await f.secrets.restore(in: other.name, blob: blob).record.value == "v2")
    }

    @Test func deletingAVaultRemovesItsObjects() async throws {
        let f = try await SecretFixture()
        _ = try await f.secrets.set(in: f.vault.name, name: "s", value: "v", properties: .init())
        try await f.vaults.delete(f.vault.name)
        await #expect(throws: CoffreError.vaultNotFound("testvault")) { try await f.vaults.get(f.vault.name) }
        #expect(try await f.storage.scan(prefix: "v/testvault/", after: nil, limit: 10).isEmpty)
    }
}

@Suite struct AuthorizerTests {
    @Test func eachPermissionAllowsExactlyItsOperations() throws {
        let operations: [VaultOperation] = [
            .secretSet, .secretGet, .secretList, .secretListVersions, .secretUpdate, .secretDelete, .secretGetDeleted,
            .secretListDeleted, .secretRecover, .secretPurge, .secretBackup, .secretRestore,
        ]
        try expectEachPermissionAllowsExactlyItsOperations(.secrets, operations: operations)
    }

    @Test func refusalNamesTheMissingPermission() throws {
        let vault = VaultRecord(name: try VaultName("vault"), created: 0)
        let caller = Caller(objectId: "oid", appId: "app", tenantId: "tid", issuer: "iss")
        #expect {
            try Authorizer().authorize(caller, .secretGet, in: vault)
        } throws: { error in
            guard case .forbidden(let inner, let message) = error as? CoffreError else { return false }
            return inner == .accessPolicy && message.contains("secrets get permission")
        }
    }
}
