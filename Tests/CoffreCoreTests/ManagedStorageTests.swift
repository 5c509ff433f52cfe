import CoffreAuth
import CoffreBlob
import CoffreCore
import CoffreCrypto
import CoffreDirectory
import CoffreModel
import CoffreStorage
import Synchronization
import Testing

/// A vault (7 days of retention) managing accounts of a Blob service, on in-memory storage with a manual clock; an
/// administrator (who may use the accounts' keys) and another principal.
struct ManagedStorageFixture {
    let clock = ManualClock()
    /// The vaults' clock (time travel over `clock`): the storage services follow it, the Blob accounts stay on `clock`.
    let travel: TimeTravelClock
    let storage = MemoryStorage()
    let vaults: VaultDirectory
    let vault: VaultRecord
    let accounts: StorageAccountDirectory
    let blob: StorageAccountRecord
    let secrets: SecretService
    let service: ManagedStorageService
    let admin: Caller
    let someone: Caller
    let resourceId: String

    init(purgeProtection: Bool = false) async throws {
        travel = TimeTravelClock(base: clock)
        vaults = VaultDirectory(storage: storage, clock: clock)
        vault = try await vaults.create(VaultName("storevault"), settings: .init(retentionDays: 7, purgeProtection: purgeProtection), owner: nil)
        accounts = StorageAccountDirectory(storage: storage, clock: clock)
        blob = try await accounts.create(try StorageAccountName("blobacct"))
        let principals = PrincipalDirectory(storage: storage, clock: clock)
        let administrator = try await principals.create(displayName: "admin", administrator: true).principal
        let other = try await principals.create(displayName: "app").principal
        admin = Caller(objectId: administrator.objectId, appId: administrator.clientId, tenantId: "t", issuer: "i")
        someone = Caller(objectId: other.objectId, appId: other.clientId, tenantId: "t", issuer: "i")
        let backups = BackupCodec(key: try AEADKey(bytes: AEADKey.generate()))
        secrets = SecretService(storage: storage, clock: travel, backups: backups)
        service = ManagedStorageService(storage: storage, clock: travel, backups: backups, accounts: accounts, principals: principals)
        resourceId = "/subscriptions/s1/resourceGroups/default/providers/Microsoft.Storage/storageAccounts/blobacct"
    }

    var name: VaultName { vault.name }

    @discardableResult
    func add(_ name: String = "Managed", active: String = "key1", autoRegenerate: Bool = false, period: String? = nil) async throws
        -> ManagedStorageAccount
    {
        try await service.set(
            in: vault.name, name: name, resourceId: resourceId,
            properties: .init(activeKeyName: active, autoRegenerateKey: autoRegenerate, regenerationPeriod: period), by: admin)
    }

    static let accountTemplate = "sv=2026-10-06&ss=b&srt=sco&sp=rwl&spr=https&se=2020-01-01T00%3A00%3A00Z&sig=AAAA"

    @discardableResult
    func define(_ name: String = "Reader", account: String = "Managed", validity: String = "PT2H") async throws -> SASDefinition {
        try await service.setDefinition(
            in: vault.name, account: account, name: name,
            properties: .init(templateUri: Self.accountTemplate, sasType: .account, validityPeriod: validity))
    }

    /// The token a SAS definition's secret hands out now.
    func token(_ secret: String = "Managed-Reader") async throws -> String {
        try await secrets.get(in: vault.name, name: secret, version: nil).record.value
    }

    /// The token the template makes with the Blob account's current key of that name, expiring `validity` from now.
    func expected(key name: String, validity: Int64 = 7200) async throws -> String {
        try signed(with: try await accounts.get(blob.name).key(named: name)!.bytes, expiry: clock.now + validity)
    }

    func signed(with key: [UInt8], expiry: Int64) throws -> String {
        try SASTemplate(Self.accountTemplate, kind: .account).token(account: "blobacct", key: key, expiry: expiry)
    }

    /// Whether a token made at `time` still verifies: one of the Blob account's current keys signed it.
    func verifies(_ token: String, madeAt time: Int64) async throws -> Bool {
        try await accounts.get(blob.name).keys.contains { try signed(with: $0.bytes, expiry: time + 7200) == token }
    }
}

@Suite struct ManagedStorageAccountTests {
    @Test func setGetUpdateAndList() async throws {
        let f = try await ManagedStorageFixture()
        let created = try await f.service.set(
            in: f.name, name: "Managed", resourceId: f.resourceId,
            properties: .init(activeKeyName: "key1", autoRegenerateKey: false, tags: ["team": "a"]), by: f.admin)
        #expect(created.name == "Managed" && created.activeKeyName == "key1" && created.attributes.enabled && created.tags == ["team": "a"])
        #expect(try created.blobAccount == f.blob.name)
        #expect(try await f.service.get(in: f.name, name: "MANAGED") == created)

        f.clock.advance(seconds: 10)
        let updated = try await f.service.update(
            in: f.name, name: "managed", properties: .init(activeKeyName: "key2", autoRegenerateKey: true, regenerationPeriod: "P30D", enabled: false)
        )
        #expect(updated.activeKeyName == "key2" && updated.activeKeySince == f.clock.now && updated.attributes.updated == f.clock.now)
        #expect(updated.regenerationPeriod == "P30D" && !updated.attributes.enabled && updated.tags == ["team": "a"])
        #expect(updated.attributes.created == created.attributes.created)
        // A disabled account is not regenerated; an enabled one is due a period after its active key changed.
        #expect(updated.nextRegeneration == nil)
        #expect(
            try await f.service.update(in: f.name, name: "managed", properties: .init(enabled: true)).nextRegeneration == f.clock.now + 30 * 86_400)

        try await f.add("second")
        try await f.add("third")
        let first = try await f.service.list(in: f.name, after: nil, limit: 2)
        #expect(first.items.map(\.name) == ["Managed", "second"])
        let rest = try await f.service.list(in: f.name, after: first.next, limit: 2)
        #expect(rest.items.map(\.name) == ["third"] && rest.next == nil)
    }

    @Test func badRequestsAreRefusedAndLeaveNothing() async throws {
        let f = try await ManagedStorageFixture()
        func set(_ properties: ManagedStorageService.AccountProperties, name: String = "acct", resourceId: String? = nil, by caller: Caller? = nil)
            async throws
        {
            _ = try await f.service.set(in: f.name, name: name, resourceId: resourceId ?? f.resourceId, properties: properties, by: caller ?? f.admin)
        }
        let elsewhere = "/subscriptions/s/resourceGroups/g/providers/"
        await #expect(throws: CoffreError.self) { try await set(.init()) }
        await #expect(throws: CoffreError.self) { try await set(.init(activeKeyName: "key3")) }
        await #expect(throws: CoffreError.self) { try await set(.init(activeKeyName: "key1", autoRegenerateKey: true)) }
        await #expect(throws: CoffreError.self) { try await set(.init(activeKeyName: "key1", regenerationPeriod: "P99999999999999999D")) }
        await #expect(throws: CoffreError.self) { try await set(.init(activeKeyName: "key1"), name: "has-hyphen") }
        await #expect(throws: CoffreError.self) { try await set(.init(activeKeyName: "key1"), name: String(repeating: "a", count: 64)) }
        await #expect(throws: CoffreError.self) {
            try await set(.init(activeKeyName: "key1"), resourceId: elsewhere + "Microsoft.ClassicStorage/storageAccounts/blobacct")
        }
        await #expect(throws: StorageAccountNotFound(name: "nosuch")) {
            try await set(.init(activeKeyName: "key1"), resourceId: elsewhere + "Microsoft.Storage/storageAccounts/nosuch")
        }
        await #expect {
            try await set(.init(activeKeyName: "key1"), by: f.someone)
        } throws: { error in
            guard case CoffreError.forbidden(.accessPolicy, let message) = error else { return false }
            return message.contains("keys of storage account blobacct")
        }
        #expect(try await f.service.list(in: f.name, after: nil, limit: 25).items.isEmpty)
        await #expect(throws: ManagedStorageError.notFound(.account, name: "acct")) { try await f.service.get(in: f.name, name: "acct") }
    }

    @Test func regenerateKeyReplacesTheKeyAndMakesItActive() async throws {
        let f = try await ManagedStorageFixture()
        try await f.add(active: "key1")
        f.clock.advance(seconds: 5)
        let regenerated = try await f.service.regenerateKey(in: f.name, name: "managed", keyName: "key2", by: f.admin)
        #expect(regenerated.activeKeyName == "key2" && regenerated.activeKeySince == f.clock.now)
        let keys = try await f.accounts.get(f.blob.name)
        #expect(keys.key(named: "key1") == f.blob.key(named: "key1") && keys.key(named: "key2") != f.blob.key(named: "key2"))
        await #expect(throws: CoffreError.self) { try await f.service.regenerateKey(in: f.name, name: "managed", keyName: "key2", by: f.someone) }
        await #expect(throws: CoffreError.self) { try await f.service.regenerateKey(in: f.name, name: "managed", keyName: "primary", by: f.admin) }
        _ = try await f.service.update(in: f.name, name: "managed", properties: .init(enabled: false))
        await #expect(throws: ManagedStorageError.disabled(.account, operation: "regeneratekey")) {
            try await f.service.regenerateKey(in: f.name, name: "managed", keyName: "key1", by: f.admin)
        }
    }

    @Test func softDeleteRecoverAndPurge() async throws {
        let f = try await ManagedStorageFixture()
        try await f.add()
        let deleted = try await f.service.delete(in: f.vault, name: "managed")
        #expect(deleted.deletion == Deletion(deletedDate: f.clock.now, scheduledPurgeDate: f.clock.now + 7 * 86_400))
        await #expect(throws: ManagedStorageError.notFound(.account, name: "managed")) { try await f.service.get(in: f.name, name: "managed") }
        #expect(try await f.service.deleted(in: f.name, name: "MANAGED") == deleted)
        #expect(try await f.service.listDeleted(in: f.name, after: nil, limit: 25).items.map(\.name) == ["Managed"])
        await #expect(throws: ManagedStorageError.deletedButRecoverable(.account, name: "managed")) { try await f.add("managed") }

        let recovered = try await f.service.recover(in: f.name, name: "managed")
        #expect(recovered.deletion == nil && recovered.name == "Managed")
        await #expect(throws: ManagedStorageError.deletedNotFound(.account, name: "managed")) {
            try await f.service.recover(in: f.name, name: "managed")
        }
        _ = try await f.service.delete(in: f.vault, name: "managed")
        try await f.service.purge(in: f.vault, name: "managed")
        await #expect(throws: ManagedStorageError.deletedNotFound(.account, name: "managed")) {
            try await f.service.deleted(in: f.name, name: "managed")
        }
        try await f.add("managed")

        let protected = try await ManagedStorageFixture(purgeProtection: true)
        try await protected.add()
        _ = try await protected.service.delete(in: protected.vault, name: "managed")
        await #expect(throws: CoffreError.purgeProtected(vault: "storevault")) {
            try await protected.service.purge(in: protected.vault, name: "managed")
        }
    }

    @Test func theScheduledPurgeRemovesAccountsAndDefinitionsWithTheirSecrets() async throws {
        let f = try await ManagedStorageFixture()
        try await f.add()
        try await f.define("first")
        try await f.define("second")
        _ = try await f.service.deleteDefinition(in: f.vault, account: "managed", name: "first")
        let sweeper = PurgeSweeper(storage: f.storage, clock: f.clock, secrets: f.secrets, keys: KeyService.inMemory(f), managedStorage: f.service)
        f.clock.advance(seconds: 86_400)
        _ = try await f.service.delete(in: f.vault, name: "managed")
        f.clock.advance(seconds: 6 * 86_400)
        #expect(try await sweeper.sweep() >= 2, "the definition deleted first and its secret")
        await #expect(throws: ManagedStorageError.deletedNotFound(.sasDefinition, name: "first")) {
            try await f.service.deletedDefinition(in: f.name, account: "managed", name: "first")
        }
        #expect(try await f.service.deleted(in: f.name, name: "managed").name == "Managed")
        f.clock.advance(seconds: 86_400)
        #expect(try await sweeper.sweep() >= 1)
        await #expect(throws: ManagedStorageError.deletedNotFound(.account, name: "managed")) {
            try await f.service.deleted(in: f.name, name: "managed")
        }
        #expect(try await f.storage.scan(prefix: "v/storevault/", after: nil, limit: 100).allSatisfy { !$0.key.contains("storage") })
        #expect(try await f.secrets.listDeleted(in: f.name, after: nil, limit: 25).items.isEmpty)
        #expect(try await f.storage.scan(prefix: "purge/", after: nil, limit: 100).isEmpty)
    }

    @Test func backupAndRestoreCarryTheDefinitions() async throws {
        let f = try await ManagedStorageFixture()
        try await f.add(active: "key2")
        try await f.define()
        let blob = try await f.service.backup(in: f.name, name: "managed")
        await #expect(throws: CoffreError.self) { try await f.service.restore(in: f.name, blob: blob, by: f.admin) }
        _ = try await f.service.delete(in: f.vault, name: "managed")
        await #expect(throws: ManagedStorageError.deletedButRecoverable(.account, name: "Managed")) {
            try await f.service.restore(in: f.name, blob: blob, by: f.admin)
        }
        try await f.service.purge(in: f.vault, name: "managed")
        await #expect(throws: CoffreError.self) { try await f.service.restore(in: f.name, blob: blob, by: f.someone) }
        await #expect(throws: CoffreError.self) { try await f.service.restore(in: f.name, blob: String(blob.dropLast(2)) + "AA", by: f.admin) }
        let restored = try await f.service.restore(in: f.name, blob: blob, by: f.admin)
        #expect(restored.activeKeyName == "key2" && restored.name == "Managed")
        #expect(try await f.token() == f.expected(key: "key2"))
        await #expect(throws: ManagedStorageError.managedBySASDefinition(secret: "Managed-Reader")) {
            try await f.secrets.backup(in: f.name, name: "Managed-Reader")
        }
    }
}

@Suite struct SASDefinitionTests {
    @Test func theSecretHandsOutFreshTokensSignedWithTheActiveKey() async throws {
        let f = try await ManagedStorageFixture()
        try await f.add(active: "key1")
        let definition = try await f.define(validity: "PT2H")
        #expect(definition.secretName == "Managed-Reader" && definition.sasType == .account && definition.validityPeriod == "PT2H")
        let secret = try await f.secrets.get(in: f.name, name: "managed-reader", version: nil)
        #expect(secret.record.managed == true && secret.record.contentType == SASDefinition.secretContentType)
        #expect(secret.record.value == (try await f.expected(key: "key1")))
        f.clock.advance(seconds: 60)
        #expect(try await f.token() == f.expected(key: "key1"), "valid two hours from each read")

        _ = try await f.service.regenerateKey(in: f.name, name: "managed", keyName: "key1", by: f.admin)
        #expect(try await f.token() == f.expected(key: "key1"), "the regenerated key")
        _ = try await f.service.update(in: f.name, name: "managed", properties: .init(activeKeyName: "key2"))
        #expect(try await f.token() == f.expected(key: "key2"))
        // Nothing of a token is stored.
        #expect(try await f.storage.scan(prefix: "v/", after: nil, limit: 1000).allSatisfy { !$0.value.isEmpty })
        #expect(try await f.secrets.versions(in: f.name, name: "managed-reader", after: nil, limit: 25).items.map(\.record.value) == [""])
    }

    @Test func disabledDefinitionsAndAccountsHandOutNothing() async throws {
        let f = try await ManagedStorageFixture()
        try await f.add()
        try await f.define()
        _ = try await f.service.updateDefinition(in: f.name, account: "managed", name: "reader", properties: .init(enabled: false))
        await #expect(throws: CoffreError.disabled(.secret, operation: "get")) { try await f.token() }
        _ = try await f.service.updateDefinition(in: f.name, account: "managed", name: "reader", properties: .init(enabled: true))
        _ = try await f.token()
        _ = try await f.service.update(in: f.name, name: "managed", properties: .init(enabled: false))
        await #expect(throws: ManagedStorageError.disabled(.account, operation: "getsas")) { try await f.token() }
    }

    @Test func setUpdateListAndRefusals() async throws {
        let f = try await ManagedStorageFixture()
        await #expect(throws: ManagedStorageError.notFound(.account, name: "Managed")) { try await f.define() }
        try await f.add()
        try await f.define("b")
        try await f.define("a")
        try await f.define("c")
        let page = try await f.service.listDefinitions(in: f.name, account: "MANAGED", after: nil, limit: 2)
        #expect(page.items.map(\.name) == ["a", "b"])
        #expect(try await f.service.listDefinitions(in: f.name, account: "managed", after: page.next, limit: 2).items.map(\.name) == ["c"])
        await #expect(throws: ManagedStorageError.notFound(.account, name: "nosuch")) {
            try await f.service.listDefinitions(in: f.name, account: "nosuch", after: nil, limit: 2)
        }
        let container = "https://blobacct.blob.localhost:8443/c1?sv=2026-10-06&sr=c&sp=rl&se=2020-01-01T00%3A00%3A00Z&sig=AAAA"
        let updated = try await f.service.updateDefinition(
            in: f.name, account: "managed", name: "a",
            properties: .init(templateUri: container, sasType: .service, validityPeriod: "PT5M", tags: ["k": "v"]))
        #expect(updated.sasType == .service && updated.validityPeriod == "PT5M" && updated.tags == ["k": "v"])
        let token = try await f.token("Managed-a")
        #expect(
            token.contains("&sr=c&")
                && token.hasPrefix("se=\(PercentEncoding.encode(SharedAccessSignature.time(f.clock.now + 300), keepingSlash: true))&"))

        for properties in [
            ManagedStorageService.DefinitionProperties(templateUri: ManagedStorageFixture.accountTemplate, sasType: .account),
            .init(templateUri: ManagedStorageFixture.accountTemplate, sasType: .service, validityPeriod: "PT1H"),
            .init(templateUri: ManagedStorageFixture.accountTemplate, sasType: .account, validityPeriod: "soon"),
            .init(templateUri: String(repeating: "a", count: 5000), sasType: .account, validityPeriod: "PT1H"),
        ] {
            await #expect(throws: CoffreError.self) {
                try await f.service.setDefinition(in: f.name, account: "managed", name: "bad", properties: properties)
            }
        }
        await #expect(throws: CoffreError.self) {
            try await f.service.updateDefinition(in: f.name, account: "managed", name: "a", properties: .init(sasType: .account))
        }
        // A secret of its own keeps its name.
        _ = try await f.secrets.set(in: f.name, name: "Managed-taken", value: "mine", properties: .init())
        await #expect(throws: CoffreError.self) { try await f.define("taken") }
        await #expect(throws: ManagedStorageError.notFound(.sasDefinition, name: "taken")) {
            try await f.service.getDefinition(in: f.name, account: "managed", name: "taken")
        }
    }

    @Test func theSecretIsManagedThroughItsDefinition() async throws {
        let f = try await ManagedStorageFixture()
        try await f.add()
        try await f.define()
        let refusedManaged: (any Error) -> Bool = { error in (error as? ManagedStorageError) == .managedBySASDefinition(secret: "Managed-Reader") }
        await #expect(
            performing: { try await f.secrets.set(in: f.name, name: "Managed-Reader", value: "x", properties: .init()) }, throws: refusedManaged)
        await #expect(
            performing: { try await f.secrets.update(in: f.name, name: "Managed-Reader", version: nil, properties: .init()) }, throws: refusedManaged)
        await #expect(performing: { try await f.secrets.delete(in: f.vault, name: "Managed-Reader") }, throws: refusedManaged)
        await #expect(performing: { try await f.secrets.backup(in: f.name, name: "Managed-Reader") }, throws: refusedManaged)
        _ = try await f.service.deleteDefinition(in: f.vault, account: "managed", name: "reader")
        #expect(try await f.secrets.deleted(in: f.name, name: "Managed-Reader").deletion != nil)
        await #expect(performing: { try await f.secrets.recover(in: f.name, name: "Managed-Reader") }, throws: refusedManaged)
        await #expect(performing: { try await f.secrets.purge(in: f.vault, name: "Managed-Reader") }, throws: refusedManaged)
    }

    @Test func definitionsAreDeletedAndRecoveredAloneOrWithTheirAccount() async throws {
        let f = try await ManagedStorageFixture()
        try await f.add()
        try await f.define("alone")
        try await f.define("together")
        let deleted = try await f.service.deleteDefinition(in: f.vault, account: "managed", name: "alone")
        #expect(deleted.deletion?.scheduledPurgeDate == f.clock.now + 7 * 86_400 && deleted.deletedWithAccount == nil)
        await #expect(throws: ManagedStorageError.notFound(.sasDefinition, name: "alone")) {
            try await f.service.getDefinition(in: f.name, account: "managed", name: "alone")
        }
        await #expect(throws: ManagedStorageError.deletedButRecoverable(.sasDefinition, name: "alone")) { try await f.define("alone") }
        #expect(try await f.service.deletedDefinition(in: f.name, account: "managed", name: "ALONE") == deleted)
        _ = try await f.service.recoverDefinition(in: f.name, account: "managed", name: "alone")
        _ = try await f.token("Managed-alone")
        _ = try await f.service.deleteDefinition(in: f.vault, account: "managed", name: "alone")

        _ = try await f.service.delete(in: f.vault, name: "managed")
        let gone = try await f.service.listDeletedDefinitions(in: f.name, account: "managed", after: nil, limit: 25).items
        #expect(gone.map(\.name) == ["alone", "together"] && gone.map(\.deletedWithAccount) == [nil, true])
        await #expect(throws: CoffreError.self) { try await f.service.recoverDefinition(in: f.name, account: "managed", name: "together") }
        await #expect(throws: CoffreError.self) { try await f.token("Managed-together") }

        _ = try await f.service.recover(in: f.name, name: "managed")
        #expect(try await f.service.listDefinitions(in: f.name, account: "managed", after: nil, limit: 25).items.map(\.name) == ["together"])
        #expect(try await f.token("Managed-together") == f.expected(key: "key1"))
        #expect(try await f.service.listDeletedDefinitions(in: f.name, account: "managed", after: nil, limit: 25).items.map(\.name) == ["alone"])
        await #expect(throws: ManagedStorageError.notFound(.account, name: "other")) {
            try await f.service.listDeletedDefinitions(in: f.name, account: "other", after: nil, limit: 25)
        }
    }
}

@Suite struct StorageKeyRegenerationTests {
    @Test func theInactiveKeyIsRegeneratedAndActivatedEachPeriod() async throws {
        let f = try await ManagedStorageFixture()
        try await f.add(active: "key1", autoRegenerate: true, period: "P1D")
        try await f.add("manual", active: "key1")
        try await f.define()
        let reported = Mutex<[String]>([])
        let regeneration = StorageKeyRegenerationService(storage: f.service, vaults: f.vaults, clock: f.clock) { vault, account, key in
            reported.withLock { $0.append("\(vault)/\(account)/\(key)") }
        }
        f.clock.advance(seconds: 86_399)
        #expect(try await regeneration.sweep().isEmpty)
        let (before, madeAt) = (try await f.token(), f.clock.now)
        f.clock.advance(seconds: 1)
        #expect(try await regeneration.sweep() == ["storevault/Managed"])
        #expect(reported.withLock { $0 } == ["storevault/Managed/key2"])
        let keys = try await f.accounts.get(f.blob.name)
        #expect(keys.key(named: "key1") == f.blob.key(named: "key1") && keys.key(named: "key2") != f.blob.key(named: "key2"))
        #expect(try await f.service.get(in: f.name, name: "managed").activeKeyName == "key2")
        #expect(try await f.token() == f.expected(key: "key2"))
        // What the previous active key signed stays valid one more period.
        #expect(try await f.verifies(before, madeAt: madeAt))

        #expect(try await regeneration.sweep().isEmpty, "not due again before a period")
        f.clock.advance(seconds: 86_400)
        #expect(try await regeneration.sweep() == ["storevault/Managed"])
        #expect(try await f.service.get(in: f.name, name: "managed").activeKeyName == "key1")
        #expect(try await !f.verifies(before, madeAt: madeAt))
    }

    @Test func aReportThatFailedIsMadeAtTheNextSweepAndOnlyOnce() async throws {
        let f = try await ManagedStorageFixture()
        try await f.add(active: "key1", autoRegenerate: true, period: "PT1H")
        struct AuditUnavailable: Error {}
        let failing = Mutex(true)
        let reported = Mutex<[String]>([])
        let regeneration = StorageKeyRegenerationService(storage: f.service, vaults: f.vaults, clock: f.clock) { vault, account, key in
            if failing.withLock({ $0 }) { throw AuditUnavailable() }
            reported.withLock { $0.append("\(vault)/\(account)/\(key)") }
        }
        f.clock.advance(seconds: 3600)
        await #expect(throws: AuditUnavailable.self) { try await regeneration.sweep() }
        #expect(try await f.service.get(in: f.name, name: "managed").activeKeyName == "key2", "the regeneration itself is done")
        f.clock.advance(seconds: 301) // the failed report's lease ends
        failing.withLock { $0 = false }
        #expect(try await regeneration.sweep().isEmpty, "not regenerated again")
        #expect(try await regeneration.sweep().isEmpty)
        #expect(reported.withLock { $0 } == ["storevault/Managed/key2"])
        // Another node's service (no memory of its own) reports nothing more.
        let other = StorageKeyRegenerationService(storage: f.service, vaults: f.vaults, clock: f.clock) { _, _, _ in
            reported.withLock { $0.append("again") }
        }
        try await other.sweep()
        #expect(reported.withLock { $0 }.count == 1)
    }

    @Test func regenerationsAndTokensFollowTheVaultsClock() async throws {
        let f = try await ManagedStorageFixture()
        try await f.add(active: "key1", autoRegenerate: true, period: "P1D")
        try await f.define()
        let regeneration = StorageKeyRegenerationService(storage: f.service, vaults: f.vaults, clock: f.travel) { _, _, _ in }
        f.travel.shift(by: 86_400, vault: try VaultName("othervault"))
        #expect(try await regeneration.sweep().isEmpty, "another vault's day passed, not this one's")
        f.travel.shift(by: 86_400, vault: f.name)
        #expect(try await regeneration.sweep() == ["storevault/Managed"])
        #expect(try await f.service.get(in: f.name, name: "managed").activeKeySince == f.clock.now + 86_400)
        // The token expires validityPeriod after the vault's now, signed with the new active key.
        #expect(try await f.token() == f.expected(key: "key2", validity: 86_400 + 7200))
    }

    @Test func sweepsRacingRegenerateOnce() async throws {
        let f = try await ManagedStorageFixture()
        try await f.add(active: "key1", autoRegenerate: true, period: "PT1H")
        f.clock.advance(seconds: 3600)
        let regeneration = StorageKeyRegenerationService(storage: f.service, vaults: f.vaults, clock: f.clock) { _, _, _ in }
        async let first = regeneration.sweep()
        async let second = regeneration.sweep()
        async let third = regeneration.sweep()
        #expect(try await (first + second + third).count == 1)
        #expect(try await f.accounts.get(f.blob.name).key(named: "key1") == f.blob.key(named: "key1"))
    }

    @Test func anAccountWhoseBlobAccountIsGoneIsSkipped() async throws {
        let f = try await ManagedStorageFixture()
        try await f.add(active: "key1", autoRegenerate: true, period: "PT1H")
        try await f.define()
        try await f.accounts.delete(f.blob.name)
        f.clock.advance(seconds: 3600)
        let regeneration = StorageKeyRegenerationService(storage: f.service, vaults: f.vaults, clock: f.clock) { _, _, _ in }
        #expect(try await regeneration.sweep().isEmpty)
        await #expect(throws: StorageAccountNotFound(name: "blobacct")) { try await f.token() }
    }
}

extension KeyService {
    /// A key service on the fixture's storage (the purge sweeper needs one).
    static func inMemory(_ f: ManagedStorageFixture) -> KeyService {
        KeyService(storage: f.storage, clock: f.clock, backups: BackupCodec(key: try! AEADKey(bytes: AEADKey.generate())))
    }
}
