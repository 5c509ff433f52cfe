import CoffreCrypto
import CoffreModel
import CoffreStorage
import Testing

@testable import CoffreBlob

@Suite struct StorageAccountTests {
    @Test(arguments: ["abc", "coffre2026", String(repeating: "a", count: 24)]) func validNamesAreAccepted(name: String) throws {
        #expect(try StorageAccountName(name).value == name)
    }

    @Test(arguments: ["ab", String(repeating: "a", count: 25), "Coffre", "cof-fre", "coffré", "cof fre", ""]) func invalidNamesAreRefused(
        name: String
    ) {
        #expect(throws: CoffreError.self) { try StorageAccountName(name) }
    }

    @Test func accountsHaveTwoKeysThatRegenerateOneAtATime() async throws {
        let clock = ManualClock()
        let accounts = StorageAccountDirectory(storage: MemoryStorage(), clock: clock)
        let name = try StorageAccountName("coffre")
        let created = try await accounts.create(name)
        #expect(created.keys.map(\.name) == ["key1", "key2"])
        #expect(created.keys.allSatisfy { $0.bytes.count == 64 })
        #expect(created.keys[0].value != created.keys[1].value)
        await #expect(throws: CoffreError.self) { try await accounts.create(name) }
        clock.advance(seconds: 10)
        let regenerated = try await accounts.regenerateKey("key2", of: name)
        #expect(regenerated.keys[0] == created.keys[0])
        #expect(regenerated.keys[1].value != created.keys[1].value)
        #expect(regenerated.keys[1].created == created.created + 10)
        #expect(try await accounts.get(name) == regenerated)
        await #expect(throws: CoffreError.self) { try await accounts.regenerateKey("key3", of: name) }
        await #expect(throws: StorageAccountNotFound(name: "other")) { try await accounts.regenerateKey("key1", of: try StorageAccountName("other")) }
        #expect(try await accounts.list().map(\.name) == [name])
        try await accounts.delete(name)
        #expect(try await accounts.find("coffre") == nil)
        await #expect(throws: StorageAccountNotFound(name: "coffre")) { try await accounts.delete(name) }
    }

    @Test func keysAreNeverStoredInTheClear() async throws {
        let raw = MemoryStorage()
        let storage = try await SealedStorage.unseal(raw, rootKey: try AEADKey(bytes: AEADKey.generate()), now: 0)
        let record = try await StorageAccountDirectory(storage: storage, clock: ManualClock()).create(try StorageAccountName("sealed"))
        let stored = try await raw.scan(prefix: "", after: nil, limit: 100)
        #expect(stored.contains { $0.key == "sys/storage-accounts/sealed" })
        for key in record.keys {
            for entry in stored {
                #expect(entry.value.firstRange(of: key.bytes) == nil)
                #expect(entry.value.firstRange(of: Array(key.value.utf8)) == nil)
            }
        }
    }
}

/// The Managed HSM backup client, through the Blob service in process, with a container SAS.
@Suite struct BlobClientTests {
    static func client(_ f: BlobFixture, token: String) throws -> BlobContainerClient {
        try BlobContainerClient(
            containerURL: "https://\(f.vectors.account).blob.localhost:8443/backups", sasToken: "?" + token,
            transport: BlobServiceTransport(service: f.service))
    }

    static func containerToken(_ f: BlobFixture, key: String = "key1") -> String {
        SharedAccessSignature.container(
            account: f.vectors.account, key: f.vectors.key(key), container: "backups", permissions: "racwdl",
            expiry: SharedAccessSignature.time(f.clock.now + 3600))
    }

    @Test func aBackupFolderIsWrittenListedAndReadBack() async throws {
        let f = try await BlobFixture()
        #expect(await f.signed("PUT", "/backups", query: "restype=container").status == 201)
        let client = try Self.client(f, token: Self.containerToken(f))
        let large = (0..<(BlobContainerClient.blockSize + 1000)).map { UInt8(truncatingIfNeeded: $0 % 251) }
        try await client.upload("mhsm-pool-2026120715160400/keys/k1", Array("small".utf8))
        try await client.upload("mhsm-pool-2026120715160400/backup.blob", large)
        try await client.upload("other/file", [1])
        let listed = try await client.list(prefix: "mhsm-pool-2026120715160400/")
        #expect(
            listed == [
                BlobItem(name: "mhsm-pool-2026120715160400/backup.blob", length: large.count),
                BlobItem(name: "mhsm-pool-2026120715160400/keys/k1", length: 5),
            ])
        #expect(try await client.download("mhsm-pool-2026120715160400/backup.blob") == large)
        #expect(try await client.download("mhsm-pool-2026120715160400/keys/k1") == Array("small".utf8))
        let blocks = try await f.send("GET", "/backups/mhsm-pool-2026120715160400/backup.blob", query: "comp=blocklist", token: f.fullAccountToken())
            .body.collect()
        #expect(XMLElement.parse(blocks)?.child("CommittedBlocks")?.children.count == 2)
        let missing = await #expect(throws: BlobClientError.self) { try await client.download("missing") }
        #expect(missing?.status == 404)
        #expect(missing?.code == "BlobNotFound")
    }

    @Test func listingFollowsMarkers() async throws {
        let f = try await BlobFixture()
        #expect(await f.signed("PUT", "/backups", query: "restype=container").status == 201)
        let client = try Self.client(f, token: Self.containerToken(f))
        for index in 0..<5 { try await client.putBlob("b\(index)", [UInt8(index)]) }
        let items = try await client.list()
        #expect(items.map(\.name) == ["b0", "b1", "b2", "b3", "b4"])
    }

    @Test func aTokenSignedWithARegeneratedKeyIsRefused() async throws {
        let f = try await BlobFixture()
        #expect(await f.signed("PUT", "/backups", query: "restype=container").status == 201)
        let client = try Self.client(f, token: Self.containerToken(f))
        try await client.putBlob("before", [1])
        _ = try await f.accounts.regenerateKey("key1", of: try StorageAccountName(f.vectors.account))
        let refused = await #expect(throws: BlobClientError.self) { try await client.putBlob("after", [1]) }
        #expect(refused?.status == 403)
        #expect(refused?.code == "AuthenticationFailed")
        #expect(throws: BlobClientError.self) {
            try BlobContainerClient(containerURL: "https://a.blob.localhost/", sasToken: "", transport: BlobServiceTransport(service: f.service))
        }
    }
}
