/// One stored entry.
public struct StorageEntry: Sendable, Equatable {
    public var key: String
    public var value: [UInt8]

    public init(key: String, value: [UInt8]) {
        self.key = key
        self.value = value
    }
}

/// Reading from an ordered key/value store. Keys are ASCII paths such as `v/default/secret/db-password`,
/// compared byte-wise.
public protocol StorageReader: Sendable {
    func get(_ key: String) async throws -> [UInt8]?
    /// Entries whose key starts with `prefix` and sorts after `after` (when given), in key order, at most `limit`.
    func scan(prefix: String, after: String?, limit: Int) async throws -> [StorageEntry]
    /// The keys `scan` would return, without their values (no value is read or unsealed).
    func scanKeys(prefix: String, after: String?, limit: Int) async throws -> [String]
    /// The JSON record at `key`, decoded (a backend may answer from a cache: see `RecordCache`).
    func read<T: Decodable & Sendable>(_ type: T.Type, at key: String) async throws -> T?
    /// The JSON records under `prefix` after `after`, decoded, in key order, at most `limit`.
    func readAll<T: Decodable & Sendable>(_ type: T.Type, prefix: String, after: String?, limit: Int) async throws
        -> [(key: String, record: T)]
}

/// Reads and writes inside one transaction: the transaction sees its own writes, and either all of its writes
/// become durable together or none does.
public protocol StorageTransaction: StorageReader {
    /// The values at `keys`, in their order (`nil` where absent): one round trip where the backend has round trips.
    func get(_ keys: [String]) async throws -> [[UInt8]?]
    func put(_ key: String, _ value: [UInt8]) async throws
    func delete(_ key: String) async throws
    /// Deletes every entry whose key starts with `prefix`.
    func deletePrefix(_ prefix: String) async throws
}

/// The narrow storage protocol every backend (in-memory, SQLite, PostgreSQL) implements.
///
/// `transaction` runs `body` atomically and in isolation from other transactions; when it returns, the writes
/// are durable. A backend may run `body` more than once (after a serialisation conflict), so bodies must only
/// read and write through the transaction. A body that throws leaves no write behind.
public protocol StorageBackend: StorageReader {
    func transaction<T: Sendable>(_ body: @escaping @Sendable (any StorageTransaction) async throws -> T) async throws -> T
    /// What this backend hears of changes to some of its keys (a backend that other nodes write); wrappers pass it on.
    var changeFeed: ChangeFeed? { get }
}

extension StorageBackend {
    public var changeFeed: ChangeFeed? { nil }
}

/// Failures of a storage backend, distinct from the domain errors of the layers above.
public enum StorageError: Error, Equatable, Sendable {
    /// The backend cannot be reached or refused the operation in a way worth retrying.
    case unavailable(String)
    /// Stored bytes failed authentication or decoding: the data was altered or sealed with another key.
    case corrupt(String)
    /// The backend is read-only or out of space.
    case notWritable(String)
    /// A key outside the storage rules (non-ASCII, empty).
    case invalidKey(String)
}

extension StorageError: CustomStringConvertible {
    public var description: String {
        switch self {
        case .unavailable(let detail): "The storage is unavailable: \(detail)"
        case .corrupt(let detail): "Stored data failed its integrity check: \(detail)"
        case .notWritable(let detail): "The storage cannot be written: \(detail)"
        case .invalidKey(let detail): "Invalid storage key: \(detail)"
        }
    }
}

extension String {
    /// The smallest key greater than every key starting with `self` (for range scans).
    public var prefixUpperBound: String {
        var bytes = Array(utf8)
        while let last = bytes.last {
            if last < 0x7f {
                bytes[bytes.count - 1] = last + 1
                return String(decoding: bytes, as: UTF8.self)
            }
            bytes.removeLast()
        }
        return "\u{7f}"
    }
}
