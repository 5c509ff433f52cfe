import CoffreJSON
import CoffreModel
import Foundation

extension StorageReader {
    public func scanKeys(prefix: String, after: String?, limit: Int) async throws -> [String] {
        try await scan(prefix: prefix, after: after, limit: limit).map(\.key)
    }
}

/// JSON-coded records on top of raw storage bytes.
extension StorageReader {
    public func read<T: Decodable & Sendable>(_ type: T.Type, at key: String) async throws -> T? {
        guard let bytes = try await get(key) else { return nil }
        return try RecordCoder.decode(type, from: bytes, at: key)
    }

    public func readAll<T: Decodable & Sendable>(_ type: T.Type, prefix: String) async throws -> [(key: String, record: T)] {
        try await readAll(type, prefix: prefix, after: nil, limit: .max)
    }

    public func readAll<T: Decodable & Sendable>(_ type: T.Type, prefix: String, after: String?, limit: Int) async throws
        -> [(key: String, record: T)]
    {
        try await scan(prefix: prefix, after: after, limit: limit).map {
            ($0.key, try RecordCoder.decode(type, from: $0.value, at: $0.key))
        }
    }
}

extension StorageTransaction {
    /// One read after the other, for backends without round trips to save.
    public func get(_ keys: [String]) async throws -> [[UInt8]?] {
        var values: [[UInt8]?] = []
        for key in keys { values.append(try await get(key)) }
        return values
    }

    public func write(_ record: some Encodable, at key: String) async throws {
        try await put(key, try RecordCoder.encode(record))
    }
}

public enum RecordCoder {
    public static func encode(_ record: some Encodable) throws -> [UInt8] {
        try StreamingJSONEncoder.encode(record)
    }

    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8], at key: String) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(bytes))
        } catch {
            throw StorageError.corrupt("the record at \(key) cannot be decoded as \(T.self)")
        }
    }
}
