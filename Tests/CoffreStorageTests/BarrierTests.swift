import CoffreCrypto
import CoffreStorage
import CoffreStorageConformance
import CoffreStorageSQLite
import Foundation
import Testing

@Suite struct BarrierTests {
    @Test func valuesAreSealedAndBoundToTheirKey() async throws {
        let raw = MemoryStorage()
        let sealed = try SealedStorage(backend: raw, keyring: Keyring(created: 0), rootKey: try AEADKey(bytes: AEADKey.generate()))
        try await sealed.transaction { try await $0.put("v/a/secret/s1", Array("hunter2-plaintext".utf8)) }

        let stored = try #require(try await raw.get("v/a/secret/s1"))
        #expect(!stored.containsSubsequence(Array("hunter2".utf8)))
        #expect(try await sealed.get("v/a/secret/s1") == Array("hunter2-plaintext".utf8))

        // The same ciphertext under another key fails to open: values cannot be swapped between objects.
        try await raw.transaction { try await $0.put("v/a/secret/s2", stored) }
        await #expect(throws: StorageError.self) { try await sealed.get("v/a/secret/s2") }
    }

    @Test func tamperedValuesAreRefused() async throws {
        let raw = MemoryStorage()
        let sealed = try SealedStorage(backend: raw, keyring: Keyring(created: 0), rootKey: try AEADKey(bytes: AEADKey.generate()))
        try await sealed.transaction { try await $0.put("k", [1, 2, 3]) }
        var stored = try #require(try await raw.get("k"))
        stored[stored.count - 1] ^= 1
        try await raw.transaction { [stored] in try await $0.put("k", stored) }
        await #expect(throws: StorageError.self) { try await sealed.get("k") }
    }

    @Test func rotationAddsATermOldDataStaysReadableAndRewrapMovesIt() async throws {
        let raw = MemoryStorage()
        let root = try AEADKey(bytes: AEADKey.generate())
        let node = try await SealedStorage.unseal(raw, rootKey: root, now: 0)
        let otherNode = try await SealedStorage.unseal(raw, rootKey: root, now: 0)
        try await node.transaction { try await $0.put("old", [1]) }
        #expect(try await node.rotate(now: 10) == 2)
        try await node.transaction { try await $0.put("new", [2]) }
        #expect(try await raw.get("new")?[1...4] == [0, 0, 0, 2])
        #expect(try await raw.get("old")?[1...4] == [0, 0, 0, 1])
        // Another node learns the new term on the first value sealed with it.
        #expect(try await otherNode.get("new") == [2])
        #expect(try await node.rewrap() == 1)
        #expect(try await raw.get("old")?[1...4] == [0, 0, 0, 2])
        #expect(try await otherNode.get("old") == [1])
        #expect(node.termNumbers == [1, 2])
    }

    @Test func keyringOpensOnlyWithItsRootKey() throws {
        let keyring = Keyring(created: 5)
        let root = try AEADKey(bytes: AEADKey.generate())
        let sealed = try keyring.sealed(with: root)
        #expect(try Keyring.unsealed(sealed, with: root).active.key == keyring.active.key)
        let other = try AEADKey(bytes: AEADKey.generate())
        #expect(throws: StorageError.self) { try Keyring.unsealed(sealed, with: other) }
    }

    @Test func sqliteFileHoldsNoPlaintext() async throws {
        try await withTemporaryDirectory { directory in
            let path = directory + "/coffre.db"
            let sealed = try SealedStorage(
                backend: try SQLiteStorage(path: path), keyring: Keyring(created: 0), rootKey: try AEADKey(bytes: AEADKey.generate()))
            try await sealed.transaction { try await $0.put("v/a/secret/x", Array("correct horse battery staple".utf8)) }
            for file in try FileManager.default.contentsOfDirectory(atPath: directory) {
                let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: directory + "/" + file)))
                #expect(!bytes.containsSubsequence(Array("horse battery".utf8)), "plaintext found in \(file)")
            }
        }
    }
}

extension Array where Element == UInt8 {
    func containsSubsequence(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty, count >= needle.count else { return false }
        return (0...(count - needle.count)).contains { self[$0..<($0 + needle.count)].elementsEqual(needle) }
    }
}

@Suite struct ServerBackupTests {
    @Test func roundTripsIntoAnEmptyStoreOnlyWithTheRootKey() async throws {
        let rootKey = AEADKey.generate()
        let source = MemoryStorage()
        let sealed = try await SealedStorage.unseal(source, rootKey: try AEADKey(bytes: rootKey), now: 0)
        try await sealed.transaction { transaction in
            for index in 0..<1500 { try await transaction.put("v/x/secret/\(index)", Array("value-\(index)".utf8)) }
        }
        let (file, count) = try await ServerBackup.create(from: source, rootKey: rootKey)
        #expect(count == 1501)
        #expect(!file.containsSubsequence(Array("value-7".utf8)))

        let target = MemoryStorage()
        await #expect(throws: StorageError.self) { try await ServerBackup.restore(file, into: target, rootKey: AEADKey.generate()) }
        var tampered = file
        tampered[tampered.count - 20] ^= 1
        await #expect(throws: StorageError.self) { try await ServerBackup.restore(tampered, into: target, rootKey: rootKey) }
        #expect(try await ServerBackup.restore(file, into: target, rootKey: rootKey) == 1501)
        let restored = try await SealedStorage.unseal(target, rootKey: try AEADKey(bytes: rootKey), now: 0)
        #expect(try await restored.get("v/x/secret/1499") == Array("value-1499".utf8))
        await #expect(throws: StorageError.self) { try await ServerBackup.restore(file, into: target, rootKey: rootKey) }
    }
}
