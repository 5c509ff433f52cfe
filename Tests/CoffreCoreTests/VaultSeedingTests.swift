import CoffreCore
import CoffreCrypto
import CoffreKeyCustody
import CoffreModel
import CoffreSoftHSMTestSupport
import CoffreStorage
import Testing

@Suite struct VaultSeedingTests {
    let storage = MemoryStorage()
    let clock = ManualClock()
    let seeding: VaultSeeding
    let secrets: SecretService
    let owner = AccessPolicy.all(tenantId: "tenant", objectId: "owner")

    init() throws {
        let backups = BackupCodec(key: try AEADKey(bytes: AEADKey.generate()))
        seeding = VaultSeeding(storage: storage, clock: clock, backups: backups, tenantId: "tenant")
        secrets = SecretService(storage: storage, clock: clock, backups: backups)
    }

    func load(_ seed: VaultSeed) async throws -> SeedReport {
        try await seeding.load(seed, into: VaultName("seeded"), owner: owner, principal: { $0 })
    }

    static let seed = VaultSeed(
        retentionDays: 7, accessPolicies: [AccessPolicySeed(objectId: "reader", permissions: ["secrets": ["get", "list"]])],
        secrets: [SecretSeed(name: "db", value: "one", contentType: "text/plain", tags: ["env": "dev"])],
        keys: [KeySeed(name: "signing", kty: "EC", curve: "P-256", ops: ["sign", "verify"])])

    @Test func loadingTwiceChangesNothingAndAChangedValueAddsAVersion() async throws {
        let first = try await load(Self.seed)
        #expect(first.created.sorted() == ["key/signing", "secret/db", "vault"])
        #expect(first.changed == ["accessPolicy/reader"])
        let again = try await load(Self.seed)
        #expect(again.created.isEmpty && again.changed.isEmpty)
        #expect(again.unchanged.count == 4)
        var changed = Self.seed
        changed.secrets?[0].value = "two"
        #expect(try await load(changed).changed == ["secret/db"])
        let versions = try await secrets.versions(in: VaultName("seeded"), name: "db", after: nil, limit: 25)
        #expect(versions.items.count == 2)
        #expect(try await secrets.get(in: VaultName("seeded"), name: "db", version: nil).record.value == "two")
    }

    @Test func aVaultIsLoadedAllOrNothing() async throws {
        var broken = Self.seed
        broken.keys?.append(KeySeed(name: "bad", kty: "DSA"))
        await #expect(throws: CoffreError.self) { try await load(broken) }
        // Neither the vault, nor the secret or key before the bad one, was written.
        #expect(try await storage.scan(prefix: "", after: nil, limit: 10).isEmpty)
    }

    @Test func exportsCarryValuesOnlyWhenAsked() async throws {
        _ = try await load(Self.seed)
        let bare = try await seeding.export(VaultName("seeded"), includeValues: false)
        #expect(bare.secrets?.map(\.value) == [nil])
        #expect(bare.keys?.first?.jwk == nil && bare.keys?.first?.publicJwk?.crv == "P-256")
        let full = try await seeding.export(VaultName("seeded"), includeValues: true)
        #expect(full.secrets?.map(\.value) == ["one"])
        #expect(full.keys?.first?.jwk?.d != nil)
        // The full export loads into another vault as the same objects.
        let copy = try await seeding.load(full, into: VaultName("copy"), owner: owner, principal: { $0 })
        #expect(copy.created.sorted() == ["key/signing", "secret/db", "vault"])
        let again = try await seeding.load(full, into: VaultName("copy"), owner: owner, principal: { $0 })
        #expect(again.created.isEmpty && again.changed.isEmpty)
    }
}

/// A server with a PKCS#11 token: seeded `-HSM` keys go to the token, and their export carries the public key only.
@Suite(.softHSM([.init("seeding")]))
struct SeededHardwareKeyTests {
    @Test func seededHSMKeysLiveInTheTokenAndExportTheirPublicKeyOnly() async throws {
        let storage = MemoryStorage()
        let hardware = try await SoftHSM.requireCurrent().custody("seeding").owned(by: try await CustodySweeper.installationTag(in: storage))
        let seeding = VaultSeeding(
            storage: storage, clock: ManualClock(), backups: BackupCodec(key: try AEADKey(bytes: AEADKey.generate())), tenantId: "tenant",
            custody: RoutingCustody(hardware: hardware))
        let seed = VaultSeed(keys: [KeySeed(name: "hsm", kty: "EC-HSM", curve: "P-256"), KeySeed(name: "soft", kty: "EC", curve: "P-256")])
        _ = try await seeding.load(seed, into: VaultName("seeded"), owner: nil, principal: { $0 })
        let labels = try await hardware.ownedObjects().map(\.label)
        #expect(labels.count == 1 && labels.allSatisfy { $0.hasPrefix("coffre:seeded/hsm/") })
        let full = try await seeding.export(VaultName("seeded"), includeValues: true)
        let keys = Dictionary(uniqueKeysWithValues: (full.keys ?? []).map { ($0.name, $0) })
        #expect(keys["hsm"]?.kty == "EC-HSM" && keys["hsm"]?.jwk == nil && keys["hsm"]?.publicJwk?.crv == "P-256")
        #expect(keys["soft"]?.jwk?.d != nil)
    }
}
