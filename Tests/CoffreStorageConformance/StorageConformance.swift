import CoffreStorage
import Testing

/// The behaviour every storage backend must show. Each backend's test suite runs every check against a fresh,
/// empty backend from its own factory.
public enum StorageConformance {
    public typealias Check = @Sendable (any StorageBackend) async throws -> Void

    /// Every check, by name, so a backend's suite can run them as parameterised tests.
    public static let checks: [(name: String, run: Check)] = [
        ("put, get and delete", putGetDelete),
        ("scan is ordered, bounded by prefix and paged with after", scanOrderAndPaging),
        ("a failed transaction leaves nothing behind", failedTransactionRollsBack),
        ("a transaction reads its own writes", readYourWrites),
        ("deletePrefix removes exactly the prefix", deletePrefix),
        ("concurrent read-modify-write transactions lose no update", noLostUpdates),
        ("binary and large values round-trip", binaryValues),
        ("prefix bounds do not leak into neighbours", prefixNeighbours),
        ("records read back as last written", recordsFollowWrites),
        ("records read during concurrent writes end at the last write", recordsUnderConcurrentWrites),
        ("several keys read at once see stored values and the transaction's own writes", readManyKeys),
        ("of concurrent creators of one key exactly one creates it", oneCreatorWins),
    ]

    static func putGetDelete(_ storage: any StorageBackend) async throws {
        #expect(try await storage.get("a/1") == nil)
        try await storage.transaction { try await $0.put("a/1", [1, 2, 3]) }
        #expect(try await storage.get("a/1") == [1, 2, 3])
        try await storage.transaction { try await $0.put("a/1", [4]) }
        #expect(try await storage.get("a/1") == [4])
        try await storage.transaction { try await $0.delete("a/1") }
        #expect(try await storage.get("a/1") == nil)
        try await storage.transaction { try await $0.delete("never/written") }
    }

    static func scanOrderAndPaging(_ storage: any StorageBackend) async throws {
        let keys = (0..<30).map { "list/item-\(String($0, radix: 10).leftPadded(to: 3))" }
        try await storage.transaction { transaction in
            for key in keys.shuffled() { try await transaction.put(key, Array(key.utf8)) }
            try await transaction.put("lisu/outside", [0])
            try await transaction.put("lis/outside", [0])
        }
        let all = try await storage.scan(prefix: "list/", after: nil, limit: 100)
        #expect(all.map(\.key) == keys)
        #expect(all.allSatisfy { $0.value == Array($0.key.utf8) })
        var paged: [String] = []
        var cursor: String?
        repeat {
            let page = try await storage.scan(prefix: "list/", after: cursor, limit: 7)
            #expect(page.count <= 7)
            paged += page.map(\.key)
            cursor = page.count == 7 ? page.last?.key : nil
        } while cursor != nil
        #expect(paged == keys)
        #expect(try await storage.scanKeys(prefix: "list/", after: nil, limit: 100) == keys)
        #expect(try await storage.scanKeys(prefix: "list/", after: keys[6], limit: 7) == Array(keys[7..<14]))
        #expect(try await storage.scan(prefix: "list/", after: keys[29], limit: 10).isEmpty)
        #expect(try await storage.scan(prefix: "list/", after: nil, limit: 0).isEmpty)
        #expect(try await storage.scan(prefix: "nothing/", after: nil, limit: 10).isEmpty)
    }

    struct Abort: Error {}

    static func failedTransactionRollsBack(_ storage: any StorageBackend) async throws {
        try await storage.transaction { try await $0.put("keep", [1]) }
        await #expect(throws: Abort.self) {
            try await storage.transaction { transaction in
                try await transaction.put("keep", [2])
                try await transaction.put("new", [3])
                try await transaction.deletePrefix("")
                throw Abort()
            }
        }
        #expect(try await storage.get("keep") == [1])
        #expect(try await storage.get("new") == nil)
        // The backend still works after a failure.
        try await storage.transaction { try await $0.put("after", [4]) }
        #expect(try await storage.get("after") == [4])
    }

    static func readYourWrites(_ storage: any StorageBackend) async throws {
        try await storage.transaction { try await $0.put("ryw/old", [0]) }
        let seen = try await storage.transaction { transaction in
            try await transaction.put("ryw/a", [1])
            try await transaction.delete("ryw/old")
            let value = try await transaction.get("ryw/a")
            let gone = try await transaction.get("ryw/old")
            let keys = try await transaction.scan(prefix: "ryw/", after: nil, limit: 10).map(\.key)
            return (value == [1]) && gone == nil && keys == ["ryw/a"]
        }
        #expect(seen)
    }

    static func deletePrefix(_ storage: any StorageBackend) async throws {
        try await storage.transaction { transaction in
            for key in ["p/a/1", "p/a/2", "p/ab", "p/b/1", "p/a"] { try await transaction.put(key, [1]) }
        }
        try await storage.transaction { try await $0.deletePrefix("p/a/") }
        #expect(try await storage.scan(prefix: "p/", after: nil, limit: 10).map(\.key) == ["p/a", "p/ab", "p/b/1"])
    }

    static func noLostUpdates(_ storage: any StorageBackend) async throws {
        try await storage.transaction { try await $0.put("counter", [0, 0]) }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<50 {
                group.addTask {
                    try await storage.transaction { transaction in
                        let bytes = try await transaction.get("counter") ?? [0, 0]
                        let value = (Int(bytes[0]) << 8 | Int(bytes[1])) + 1
                        try await transaction.put("counter", [UInt8(value >> 8), UInt8(value & 0xff)])
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(try await storage.get("counter") == [0, 50])
    }

    static func binaryValues(_ storage: any StorageBackend) async throws {
        let binary = (0..<256).map { UInt8($0) }
        let large = [UInt8](repeating: 0xab, count: 1 << 20)
        try await storage.transaction { transaction in
            try await transaction.put("bin/all-bytes", binary)
            try await transaction.put("bin/large", large)
            try await transaction.put("bin/empty", [])
        }
        #expect(try await storage.get("bin/all-bytes") == binary)
        #expect(try await storage.get("bin/large") == large)
        #expect(try await storage.get("bin/empty") == [])
    }

    static func prefixNeighbours(_ storage: any StorageBackend) async throws {
        try await storage.transaction { transaction in
            for key in ["v/a/secret/x", "v/a/secret-ver/x/1", "v/a/secret0", "v/a/secret/y", "v/ab/secret/z"] {
                try await transaction.put(key, [1])
            }
        }
        #expect(try await storage.scan(prefix: "v/a/secret/", after: nil, limit: 10).map(\.key) == ["v/a/secret/x", "v/a/secret/y"])
        #expect(try await storage.scan(prefix: "v/a/secret/", after: "v/a/secret/x", limit: 10).map(\.key) == ["v/a/secret/y"])
    }

    /// `read` (which a backend may answer from a cache) after every kind of write.
    static func recordsFollowWrites(_ storage: any StorageBackend) async throws {
        let key = "rec/a"
        #expect(try await storage.read(Int.self, at: key) == nil)
        try await storage.transaction { try await $0.write(1, at: key) }
        #expect(try await storage.read(Int.self, at: key) == 1)
        #expect(try await storage.readAll(Int.self, prefix: "rec/").map(\.record) == [1])
        try await storage.transaction { try await $0.write(2, at: key) }
        #expect(try await storage.read(Int.self, at: key) == 2)
        #expect(try await storage.readAll(Int.self, prefix: "rec/").map(\.record) == [2])
        struct Refused: Error {}
        await #expect(throws: Refused.self) {
            try await storage.transaction { transaction in
                try await transaction.write(3, at: key)
                throw Refused()
            }
        }
        #expect(try await storage.read(Int.self, at: key) == 2)
        try await storage.transaction { try await $0.delete(key) }
        #expect(try await storage.read(Int.self, at: key) == nil)
        try await storage.transaction { try await $0.write(4, at: key) }
        #expect(try await storage.read(Int.self, at: key) == 4)
        try await storage.transaction { try await $0.write(5, at: "rec/b") }
        #expect(try await storage.readAll(Int.self, prefix: "rec/").map(\.record) == [4, 5])
        #expect(try await storage.readAll(Int.self, prefix: "rec/", after: key, limit: 5).map(\.key) == ["rec/b"])
        try await storage.transaction { try await $0.deletePrefix("rec/") }
        #expect(try await storage.read(Int.self, at: key) == nil)
        #expect(try await storage.readAll(Int.self, prefix: "rec/").isEmpty)
    }

    static func recordsUnderConcurrentWrites(_ storage: any StorageBackend) async throws {
        let key = "rec/race"
        try await withThrowingTaskGroup(of: Void.self) { group in
            for value in 1...40 {
                group.addTask { try await storage.transaction { try await $0.write(value, at: key) } }
                group.addTask { _ = try await storage.read(Int.self, at: key) }
            }
            try await group.waitForAll()
        }
        let last = try #require(try await storage.get(key))
        #expect(try await storage.read(Int.self, at: key) == RecordCoder.decode(Int.self, from: last, at: key))
    }

    static func readManyKeys(_ storage: any StorageBackend) async throws {
        try await storage.transaction { transaction in
            try await transaction.put("many/stored", [1])
            try await transaction.put("many/gone", [2])
        }
        let seen = try await storage.transaction { transaction in
            try await transaction.put("many/new", [3])
            try await transaction.delete("many/gone")
            let first = try await transaction.get(["many/stored", "many/absent", "many/new", "many/gone", "many/stored"])
            let again = try await transaction.get(["many/absent", "many/stored"])
            return (first, again)
        }
        #expect(seen.0 == [[1], nil, [3], nil, [1]])
        #expect(seen.1 == [nil, [1]])
    }

    /// Each creator reads the key and writes it only when absent: however their ends are grouped, one sees it absent.
    static func oneCreatorWins(_ storage: any StorageBackend) async throws {
        let created = try await withThrowingTaskGroup(of: Bool.self) { group in
            for creator in 0..<24 {
                group.addTask {
                    try await storage.transaction { transaction in
                        let found = try await transaction.get(["create/other-\(creator)", "create/key"])
                        guard found[1] == nil else { return false }
                        try await transaction.put("create/key", [UInt8(creator)])
                        try await transaction.put("create/other-\(creator)", [1])
                        return true
                    }
                }
            }
            return try await group.reduce(0) { $0 + ($1 ? 1 : 0) }
        }
        #expect(created == 1)
        #expect(try await storage.scan(prefix: "create/other-", after: nil, limit: 100).count == 1)
    }
}

extension String {
    fileprivate func leftPadded(to length: Int) -> String {
        String(repeating: "0", count: max(0, length - count)) + self
    }
}
