import CoffreBlob
import CoffreCrypto
import CoffreModel
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
        /// Runs the jobs (a store runs once): cancel it when the test ends.
        let runner: Task<Void, Never>

        init() async throws {
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
            backups = ManagedHSMBackups(storage: pools.storage, clock: clock, jobs: jobs) { _ in BlobServiceTransport(service: blob) }
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
        try await f.put("v/source/key/k1", "head 1")
        try await f.put("v/source/key-ver/k1/0001", "version 1")
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
        try await f.pools.storage.transaction { try await $0.delete("v/source/key-ver/k1/0001") }
        _ = try await f.pools.settings.update("AllowKeyManagementOperationsThroughARM", value: "false", in: pool)
        let restore = try await f.backups.restore(pool, from: f.location, folder: folder)
        #expect(try await f.finished(restore, of: pool) == .succeeded(.init(folderURL: nil, details: nil)))
        #expect(try await f.value("v/source/key/k2") == nil)
        #expect(try await f.value("v/source/key-ver/k1/0001") == "version 1")
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
        #expect(try await f.value("v/source/key/k1") == "head 1")
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
