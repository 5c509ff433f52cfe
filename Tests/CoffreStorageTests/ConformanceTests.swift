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
