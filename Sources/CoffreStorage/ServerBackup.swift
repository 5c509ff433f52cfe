import CoffreCrypto
import Foundation

/// Whole-server backups: every stored entry (already sealed by the barrier, the keyring sealed by the root key),
/// taken in one transaction so the snapshot is consistent, then sealed as a whole with a key derived from the root key.
/// Only a holder of the root key can restore or read one, and any change to the file is detected.
public enum ServerBackup {
    static let magic = Array("COFFRE-BACKUP-1\n".utf8)
    static let aad = Array("coffre/server-backup/v1".utf8)

    static func fileKey(_ rootKey: [UInt8]) throws -> AEADKey {
        try AEADKey(bytes: Digest.hmacSHA256(key: rootKey, Array("coffre/server-backup-key/v1".utf8)))
    }

    /// A consistent snapshot of `backend` (the raw backend under the barrier).
    public static func create(from backend: any StorageBackend, rootKey: [UInt8]) async throws -> (file: [UInt8], entries: Int) {
        let entries: [StorageEntry] = try await backend.transaction { transaction in
            var all: [StorageEntry] = []
            var cursor: String?
            while true {
                let page = try await transaction.scan(prefix: "", after: cursor, limit: 1000)
                all += page
                guard page.count == 1000, let last = page.last else { break }
                cursor = last.key
            }
            return all
        }
        var payload = [UInt8]()
        for entry in entries {
            append(Array(entry.key.utf8), to: &payload)
            append(entry.value, to: &payload)
        }
        return (magic + (try fileKey(rootKey).seal(payload, authenticating: aad)), entries.count)
    }

    /// Writes a backup into an empty backend, without the entries at `dropping` (what belongs to the installation the
    /// backup was taken of, not to its copy); returns how many entries were restored.
    public static func restore(_ file: [UInt8], into backend: any StorageBackend, rootKey: [UInt8], dropping: Set<String> = []) async throws
        -> Int
    {
        guard file.count > magic.count, Array(file.prefix(magic.count)) == magic else {
            throw StorageError.corrupt("this is not a Coffre server backup")
        }
        let payload: [UInt8]
        do {
            payload = try fileKey(rootKey).open(file.dropFirst(magic.count), authenticating: aad)
        } catch {
            throw StorageError.corrupt("the backup was altered or made with another root key")
        }
        var entries: [StorageEntry] = []
        var offset = 0
        while offset < payload.count {
            guard let key = read(payload, &offset), let value = read(payload, &offset) else {
                throw StorageError.corrupt("the backup is truncated")
            }
            let path = String(decoding: key, as: UTF8.self)
            if !dropping.contains(path) { entries.append(StorageEntry(key: path, value: value)) }
        }
        guard try await backend.scan(prefix: "", after: nil, limit: 1).isEmpty else {
            throw StorageError.notWritable("the target storage is not empty: restore into a new data directory or database")
        }
        for start in stride(from: 0, to: entries.count, by: 500) {
            let batch = Array(entries[start..<min(start + 500, entries.count)])
            try await backend.transaction { transaction in
                for entry in batch { try await transaction.put(entry.key, entry.value) }
            }
        }
        return entries.count
    }

    private static func append(_ bytes: [UInt8], to buffer: inout [UInt8]) {
        withUnsafeBytes(of: UInt32(bytes.count).bigEndian) { buffer.append(contentsOf: $0) }
        buffer.append(contentsOf: bytes)
    }

    private static func read(_ buffer: [UInt8], _ offset: inout Int) -> [UInt8]? {
        guard offset + 4 <= buffer.count else { return nil }
        let length = Int(buffer[offset..<offset + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) })
        offset += 4
        guard offset + length <= buffer.count else { return nil }
        defer { offset += length }
        return Array(buffer[offset..<offset + length])
    }
}
