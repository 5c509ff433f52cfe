import CoffreBlob
import CoffreCrypto
import CoffreKeyCustody
import CoffreModel
import CoffreSoftHSMTestSupport
import CoffreStorage
import Foundation
import Testing

@testable import CoffreCore

/// Backups of pools to a container of Coffre's Blob service (reached in process), restored into the same pool, into a
/// pool that received the same security domain, and refused by a pool with another one.
@Suite struct ManagedHSMBackupTests {
    struct Fixture {
        let pools: PoolFixture
        let backups: ManagedHSMBackups
        let jobs: JobStore<ManagedHSMBackups.Outcome>
        let location: ManagedHSMBackups.Location
        /// The pools' keys (in software, or in `hardware`).
        let keys: KeyService
        let transport: @Sendable (String) -> any BlobTransport
        /// Runs the jobs (a store runs once): cancel it when the test ends.
        let runner: Task<Void, Never>

        /// - Parameter hardware: the PKCS#11 token of `-HSM` keys, if any.
        init(hardware: PKCS11Custody? = nil) async throws {
            pools = try PoolFixture()
            let clock = pools.clock
            let accounts = StorageAccountDirectory(storage: pools.storage, clock: clock)
            let account = try await accounts.create(try StorageAccountName("backups"))
            let blob = BlobService(storage: pools.storage, clock: clock, accounts: accounts)
            let key = try #require(account.key(named: "key1")).bytes
            let expiry = SharedAccessSignature.time(clock.now + 3600)
            let accountToken = SharedAccessSignature.account(
                account: "backups", key: key, services: "b", resourceTypes: "sco", permissions: "rwdlac", expiry: expiry)
            let created = await blob.handle(
                BlobRequest(method: "PUT", account: "backups", path: "/folders", query: "restype=container&" + accountToken))
            #expect(created.status == 201)
            let jobs = JobStore<ManagedHSMBackups.Outcome>(
                storage: pools.storage, prefix: "jobs/test/", timing: JobTiming(inProgressPolls: 0, minimumAge: .zero, abandonAfter: .seconds(600)))
            self.jobs = jobs
            runner = Task { await jobs.run() }
            keys = KeyService(
                storage: pools.storage, clock: clock, backups: BackupCodec(key: try AEADKey(bytes: AEADKey.generate())),
                custody: RoutingCustody(hardware: hardware))
            transport = { _ in BlobServiceTransport(service: blob) }
            backups = ManagedHSMBackups(storage: pools.storage, clock: clock, jobs: jobs, keys: keys, transport: transport)
            location = .init(
                containerURL: "https://backups.blob.localhost:8443/folders",
                token: SharedAccessSignature.container(account: "backups", key: key, container: "folders", permissions: "rwdl", expiry: expiry),
                useManagedIdentity: false)
        }

        /// The job once it finished.
        func finished(_ job: JobView<ManagedHSMBackups.Outcome>, of pool: ManagedHSMName) async throws -> JobStatus<ManagedHSMBackups.Outcome> {
            let deadline = ContinuousClock.now + .seconds(300)
            while ContinuousClock.now < deadline {
                let view = try #require(try await backups.status(job.id, of: pool))
                if view.status != .inProgress { return view.status }
                try await Task.sleep(for: .milliseconds(25))
            }
            Issue.record("the job did not finish")
            return .inProgress
        }

        func put(_ key: String, _ value: String) async throws {
            try await pools.storage.transaction { try await $0.put(key, Array(value.utf8)) }
        }

        func value(_ key: String) async throws -> String? {
            try await pools.storage.get(key).map { String(decoding: $0, as: UTF8.self) }
        }
    }

    @Test func aBackupRestoresThePoolAndOneKey() async throws {
        let f = try await Fixture()
        defer { f.runner.cancel() }
        let pool = try await f.pools.pool("source", activated: true).name
        let k1 = try await f.keys.create(in: VaultName("source"), name: "k1", spec: .init(type: .ecHSM), properties: .init())
        let versionKey = "v/source/key-ver/k1/\(k1.record.version)"
        try await f.put("v/source/deleted-key/gone", "deleted head")
        try await f.put("purge/000001900000/source/key/gone", "purge")
        _ = try await f.pools.settings.update("AllowKeyManagementOperationsThroughARM", value: "true", in: pool)

        let backup = try await f.finished(try await f.backups.backup(pool, to: f.location), of: pool)
        guard case .succeeded(let outcome) = backup, let folderURL = outcome.folderURL else {
            Issue.record("the backup failed: \(backup)")
            return
        }
        #expect(folderURL.hasPrefix("https://backups.blob.localhost:8443/folders/mhsm-source-"))
        let folder = String(try #require(folderURL.split(separator: "/").last))
        #expect(folder.count == "mhsm-source-".count + 16)

        // Everything after the backup is undone by a full restore.
        try await f.put("v/source/key/k2", "later")
        try await f.pools.storage.transaction { try await $0.delete(versionKey) }
        _ = try await f.pools.settings.update("AllowKeyManagementOperationsThroughARM", value: "false", in: pool)
        let restore = try await f.backups.restore(pool, from: f.location, folder: folder)
        #expect(try await f.finished(restore, of: pool) == .succeeded(.init(folderURL: nil, details: nil)))
        #expect(try await f.value("v/source/key/k2") == nil)
        #expect(try await f.pools.storage.read(KeyVersion.self, at: versionKey)?.material == k1.record.material)
        #expect(try await f.value("purge/000001900000/source/key/gone") == "purge")
        #expect(try await f.pools.settings.get("AllowKeyManagementOperationsThroughARM", in: pool).value == "true")
        #expect(try await f.pools.access.assignments(in: pool).count == 1)

        // One key: its versions come back; versions the pool holds stay.
        try await f.pools.storage.transaction { try await $0.deletePrefix("v/source/") }
        let one = try await f.backups.restoreKey("K1", into: pool, from: f.location, folder: folder)
        #expect(
            try await f.finished(one, of: pool)
                == .succeeded(
                    .init(folderURL: nil, details: "Number of successful key versions restored: 1, Number of key versions could not overwrite: 0")))
        let again = try await f.backups.restoreKey("k1", into: pool, from: f.location, folder: folder)
        #expect(
            try await f.finished(again, of: pool)
                == .succeeded(
                    .init(folderURL: nil, details: "Number of successful key versions restored: 0, Number of key versions could not overwrite: 1")))
        #expect(try await f.value("v/source/key/k1") != nil)
        #expect(try await f.value("v/source/deleted-key/gone") == nil)
    }

    @Test func onlyAPoolHoldingTheSameRootOpensTheBackup() async throws {
        let f = try await Fixture()
        defer { f.runner.cancel() }
        let source = try await f.pools.pool("source", activated: true)
        try await f.put("v/source/key/k1", "head")
        let stranger = try await f.pools.pool("stranger", activated: true).name
        let heir = try await f.pools.pool("heir").name
        try await f.pools.directory.activation(.begin(.upload), root: try source.requireActive(), of: heir)
        try await f.pools.directory.activation(.complete, of: heir)

        let backup = try await f.finished(try await f.backups.backup(source.name, to: f.location), of: source.name)
        guard case .succeeded(let outcome) = backup, let url = outcome.folderURL else {
            Issue.record("the backup failed: \(backup)")
            return
        }
        let folder = String(url.split(separator: "/").last ?? "")
        let refused = try await f.backups.restore(stranger, from: f.location, folder: folder)
        guard case .failed(let failure) = try await f.finished(refused, of: stranger) else {
            Issue.record("a pool with another root restored the backup")
            return
        }
        #expect(failure.message.contains("another security domain"))
        let restored = try await f.backups.restore(heir, from: f.location, folder: folder)
        #expect(try await f.finished(restored, of: heir) == .succeeded(.init(folderURL: nil, details: nil)))
        #expect(try await f.value("v/stranger/key/k1") == nil)
        #expect(try await f.value("v/heir/key/k1") == "head")
    }

    @Test func refusalsBeforeAnyJob() async throws {
        let f = try await Fixture()
        defer { f.runner.cancel() }
        let inactive = try await f.pools.pool("inactive").name
        await #expect(throws: ManagedHSMError.notActivated("inactive")) { try await f.backups.backup(inactive, to: f.location) }
        let pool = try await f.pools.pool("pool", activated: true).name
        await #expect(throws: CoffreError.self) {
            try await f.backups.backup(pool, to: .init(containerURL: f.location.containerURL, token: nil, useManagedIdentity: true))
        }
        await #expect(throws: CoffreError.self) {
            try await f.backups.backup(pool, to: .init(containerURL: "not a url", token: "sig=x", useManagedIdentity: false))
        }
        await #expect(throws: CoffreError.self) { try await f.backups.restore(pool, from: f.location, folder: "../x") }
    }
}

/// A pool's hardware keys in a backup: wrapped by the token's backup key, restored as new objects of a token holding it,
/// refused by one that does not.
@Suite(
    .softHSM([
        .init("pool-core", backupKey: .init(value: poolBackupKey, trusted: true)),
        .init("pool-stranger", backupKey: .init(value: SecureRandom.bytes(32), trusted: true)),
    ]))
struct ManagedHSMHardwareBackupTests {
    @Test func hardwareKeysLeaveWrappedAndComeBackAsNewObjectsOnlyWhereTheBackupKeyIs() async throws {
        let hsm = try SoftHSM.requireCurrent()
        let f = try await ManagedHSMBackupTests.Fixture(hardware: try await hsm.custody("pool-core"))
        defer { f.runner.cancel() }
        let pool = try await f.pools.pool("source", activated: true).name
        let vault = try VaultName("source")
        let key = try await f.keys.create(in: vault, name: "k1", spec: .init(type: .ecHSM), properties: .init())
        let backup = try await f.finished(try await f.backups.backup(pool, to: f.location), of: pool)
        guard case .succeeded(let outcome) = backup, let url = outcome.folderURL else {
            Issue.record("the backup failed: \(backup)")
            return
        }
        let folder = String(url.split(separator: "/").last ?? "")

        // The key is lost (its records and its object); the backup brings it back as a new object that signs.
        try await f.pools.storage.transaction { try await $0.deletePrefix("v/source/") }
        await f.keys.destroyKeys(stored: [key.record.material])
        let restored = try await f.backups.restore(pool, from: f.location, folder: folder)
        #expect(try await f.finished(restored, of: pool) == .succeeded(.init(folderURL: nil, details: nil)))
        let back = try await f.keys.get(in: vault, name: "k1", version: key.record.version)
        #expect(back.record.material != key.record.material && back.record.publicKey == key.record.publicKey)
        let digest = Digest.sha256(Array("message".utf8))
        let signed = try await f.keys.sign(in: vault, name: "k1", version: nil, algorithm: "ES256", digest: digest)
        #expect(try PublicKeyMaterial(jwk: key.record.publicKey).verify("ES256", digest: digest, signature: signed.value))

        // A token without that backup key cannot take it: the job fails saying why, and the pool keeps its keys.
        let stranger = KeyService(
            storage: f.pools.storage, clock: f.pools.clock, backups: BackupCodec(key: try AEADKey(bytes: AEADKey.generate())),
            custody: RoutingCustody(hardware: try await hsm.custody("pool-stranger")))
        let elsewhere = ManagedHSMBackups(storage: f.pools.storage, clock: f.pools.clock, jobs: f.jobs, keys: stranger, transport: f.transport)
        guard case .failed(let failure) = try await f.finished(try await elsewhere.restore(pool, from: f.location, folder: folder), of: pool)
        else {
            Issue.record("a token without the backup key restored a hardware key")
            return
        }
        #expect(failure.message.contains("keys do not leave the HSM boundary"), "\(failure.message)")
        #expect(try await f.keys.get(in: vault, name: "k1", version: nil).record.material == back.record.material)
    }
}

private let poolBackupKey = SecureRandom.bytes(32)
