import CoffreCrypto
import CoffreStorage
import CoffreStorageConformance
import CoffreStorageSQLite
import Foundation
import Testing

@Suite struct MemoryStorageConformance {
    @Test(arguments: StorageConformance.checks.map(\.name))
    func conforms(_ check: String) async throws {
        try await StorageConformance.run(check, on: MemoryStorage())
    }
}

@Suite struct SQLiteStorageConformance {
    @Test(arguments: StorageConformance.checks.map(\.name))
    func conforms(_ check: String) async throws {
        try await withTemporaryDirectory { directory in
            try await StorageConformance.run(check, on: SQLiteStorage(path: directory + "/coffre.db"))
        }
    }
}

@Suite struct SealedStorageConformance {
    @Test(arguments: StorageConformance.checks.map(\.name))
    func conforms(_ check: String) async throws {
        try await StorageConformance.run(
            check, on: SealedStorage(backend: MemoryStorage(), keyring: Keyring(created: 0), rootKey: try AEADKey(bytes: AEADKey.generate())))
    }
}

@Suite struct RecordCacheConformance {
    @Test(arguments: StorageConformance.checks.map(\.name))
    func conforms(_ check: String) async throws {
        try await withTemporaryDirectory { directory in
            try await StorageConformance.run(check, on: RecordCache(SQLiteStorage(path: directory + "/coffre.db"), capacity: 8))
        }
    }
}

extension StorageConformance {
    static func run(_ name: String, on storage: any StorageBackend) async throws {
        let check = try #require(checks.first { $0.name == name })
        try await check.run(storage)
    }
}

/// A staging storage behaves as a storage before its commit (over a base that already holds entries, too).
@Suite struct StagingStorageConformance {
    @Test(arguments: StorageConformance.checks.map(\.name))
    func conforms(_ check: String) async throws {
        try await StorageConformance.run(check, on: StagingStorage(base: MemoryStorage()))
    }
}

@Suite struct StagingStorageTests {
    @Test func nothingReachesTheBaseBeforeTheCommitThenEverythingDoesAtOnce() async throws {
        let base = MemoryStorage()
        try await base.transaction { transaction in
            try await transaction.put("a/1", [1])
            try await transaction.put("a/2", [2])
            try await transaction.put("b/1", [3])
        }
        let staging = StagingStorage(base: base)
        try await staging.transaction { transaction in
            try await transaction.delete("a/1")
            try await transaction.put("a/3", [4])
            try await transaction.put("b/1", [5])
        }
        #expect(try await staging.scan(prefix: "a/", after: nil, limit: 10).map(\.key) == ["a/2", "a/3"])
        #expect(try await staging.scan(prefix: "a/", after: nil, limit: 1).map(\.key) == ["a/2"])
        #expect(try await staging.get("b/1") == [5])
        #expect(try await base.get("a/1") == [1])
        #expect(try await base.get("a/3") == nil)
        #expect(try await base.get("b/1") == [3])
        try await staging.commit()
        #expect(try await base.scan(prefix: "", after: nil, limit: 10).map(\.key) == ["a/2", "a/3", "b/1"])
        #expect(try await base.get("b/1") == [5])
    }

    @Test func aFailedTransactionLeavesTheStageAsItWas() async throws {
        let staging = StagingStorage(base: MemoryStorage())
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            try await staging.transaction { transaction in
                try await transaction.put("x", [1])
                throw Refused()
            }
        }
        #expect(try await staging.get("x") == nil)
    }
}
