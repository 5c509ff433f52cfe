import CoffreStorage
import Synchronization
import Testing

@Suite struct RecordCacheTests {
    /// A backend whose next `get` hands over the bytes it read and waits for `resume` before returning them.
    final class HeldRead: StorageBackend {
        let inner = MemoryStorage()
        private let held = Mutex<(armed: Bool, read: CheckedContinuation<Void, Never>?, resume: CheckedContinuation<Void, Never>?)>((false, nil, nil))

        func arm() { held.withLock { $0.armed = true } }

        func get(_ key: String) async throws -> [UInt8]? {
            let value = try await inner.get(key)
            guard
                held.withLock({ state in
                    defer { state.armed = false }
                    return state.armed
                })
            else { return value }
            await withCheckedContinuation { continuation in
                let read = held.withLock { state in
                    state.resume = continuation
                    return state.read
                }
                read?.resume()
            }
            return value
        }

        /// Waits until the armed read has its bytes.
        func waitForRead() async {
            await withCheckedContinuation { continuation in
                let alreadyRead = held.withLock { state in
                    if state.resume != nil { return true }
                    state.read = continuation
                    return false
                }
                if alreadyRead { continuation.resume() }
            }
        }

        func release() { held.withLock { $0.resume }?.resume() }

        func scan(prefix: String, after: String?, limit: Int) async throws -> [StorageEntry] {
            try await inner.scan(prefix: prefix, after: after, limit: limit)
        }

        func transaction<T: Sendable>(_ body: @escaping @Sendable (any StorageTransaction) async throws -> T) async throws -> T {
            try await inner.transaction(body)
        }
    }

    @Test func aReadThatRacedWithAWriteDoesNotCacheTheOldRecord() async throws {
        let backend = HeldRead()
        let cache = RecordCache(backend)
        try await cache.transaction { try await $0.write("old", at: "k") }
        backend.arm()
        let slowRead = Task { try await cache.read(String.self, at: "k") }
        await backend.waitForRead()
        try await cache.transaction { try await $0.write("new", at: "k") }
        backend.release()
        #expect(try await slowRead.value == "old")
        #expect(try await cache.read(String.self, at: "k") == "new")
    }

    @Test func hotRecordsAreAnsweredFromMemoryAndTheCacheStaysBounded() async throws {
        let backend = MemoryStorage()
        let cache = RecordCache(backend, capacity: 2)
        try await cache.transaction { transaction in
            for name in ["a", "b", "c"] { try await transaction.write(name, at: name) }
        }
        #expect(try await cache.read(String.self, at: "a") == "a")
        // Written behind the cache's back (only possible in a test): the cached record is still answered.
        try await backend.transaction { try await $0.write("changed", at: "a") }
        #expect(try await cache.read(String.self, at: "a") == "a")
        // Two more records fill the cache, which starts over: the next read goes to the backend.
        _ = try await cache.read(String.self, at: "b")
        _ = try await cache.read(String.self, at: "c")
        #expect(try await cache.read(String.self, at: "a") == "changed")
    }

    @Test func aSharedCacheReadsEveryTimeAndDecodesOnlyChangedBytes() async throws {
        let backend = MemoryStorage()
        let cache = RecordCache(backend, writers: .shared)
        try await backend.transaction { try await $0.write(["v": 1], at: "k") }
        #expect(try await cache.read([String: Int].self, at: "k") == ["v": 1])
        // Another node writes: the next read sees it.
        try await backend.transaction { try await $0.write(["v": 2], at: "k") }
        #expect(try await cache.read([String: Int].self, at: "k") == ["v": 2])
        #expect(try await cache.readAll([String: Int].self, prefix: "k", after: nil, limit: 10).map(\.record) == [["v": 2]])
        try await backend.transaction { try await $0.delete("k") }
        #expect(try await cache.read([String: Int].self, at: "k") == nil)
    }

    @Test func aListOfCachedRecordsReadsOnlyKeys() async throws {
        let backend = MemoryStorage()
        let cache = RecordCache(backend)
        try await cache.transaction { transaction in
            for name in ["l/a", "l/b"] { try await transaction.write(name, at: name) }
        }
        #expect(try await cache.readAll(String.self, prefix: "l/", after: nil, limit: 10).map(\.record) == ["l/a", "l/b"])
        // Values changed behind the cache's back (only possible in a test) are not read: every record was cached.
        try await backend.transaction { try await $0.write("changed", at: "l/a") }
        #expect(try await cache.readAll(String.self, prefix: "l/", after: nil, limit: 10).map(\.record) == ["l/a", "l/b"])
        // A key that is not cached sends the page to the backend.
        try await backend.transaction { try await $0.write("l/c", at: "l/c") }
        #expect(try await cache.readAll(String.self, prefix: "l/", after: nil, limit: 10).map(\.record) == ["l/a", "l/b", "l/c"])
    }

    /// Memory storage that another node writes too, announcing changes under `sys/` (as PostgreSQL does).
    final class Announcing: StorageBackend {
        let inner = MemoryStorage()
        let changeFeed: ChangeFeed? = ChangeFeed(prefixes: ["sys/"])

        func get(_ key: String) async throws -> [UInt8]? { try await inner.get(key) }
        func scan(prefix: String, after: String?, limit: Int) async throws -> [StorageEntry] {
            try await inner.scan(prefix: prefix, after: after, limit: limit)
        }
        func transaction<T: Sendable>(_ body: @escaping @Sendable (any StorageTransaction) async throws -> T) async throws -> T {
            try await inner.transaction(body)
        }
        /// Another node's write, heard only when `heard`.
        func writeElsewhere(_ value: String, at key: String, heard: Bool = true) async throws {
            try await inner.transaction { try await $0.write(value, at: key) }
            if heard { changeFeed?.announce(.changed(key)) }
        }
    }

    @Test func announcedRecordsAreAnsweredFromMemoryOnlyWhileTheFeedListens() async throws {
        let backend = Announcing()
        let cache = RecordCache(backend, writers: .shared)
        try await backend.writeElsewhere("v1", at: "sys/vault")
        try await backend.writeElsewhere("d1", at: "data")
        // Not listening yet: every read goes to the backend.
        #expect(try await cache.read(String.self, at: "sys/vault") == "v1")
        try await backend.writeElsewhere("v2", at: "sys/vault", heard: false)
        #expect(try await cache.read(String.self, at: "sys/vault") == "v2")

        backend.changeFeed?.announce(.listening)
        #expect(try await cache.read(String.self, at: "sys/vault") == "v2")
        // While listening, an announced key is answered from memory (a change behind the feed's back is not seen)…
        try await backend.writeElsewhere("v3", at: "sys/vault", heard: false)
        #expect(try await cache.read(String.self, at: "sys/vault") == "v2")
        // …until its change is heard; keys outside the announced prefixes are read every time.
        try await backend.writeElsewhere("v4", at: "sys/vault")
        #expect(try await cache.read(String.self, at: "sys/vault") == "v4")
        try await backend.writeElsewhere("d2", at: "data", heard: false)
        #expect(try await cache.read(String.self, at: "data") == "d2")

        // A feed that stops listening forgets everything and reads again.
        backend.changeFeed?.announce(.deaf)
        try await backend.writeElsewhere("v5", at: "sys/vault", heard: false)
        #expect(try await cache.read(String.self, at: "sys/vault") == "v5")
    }
}
