import CoffreCore
import CoffreCrypto
import CoffreModel
import CoffreStorage

/// The backup keys of the fuzz targets: fixed, so that seeds made once stay valid.
private enum BackupKeys {
    static let objectKey: [UInt8] = Array(repeating: 7, count: 32)
    static let rootKey: [UInt8] = Array(repeating: 9, count: 32)
}

extension FuzzTarget {
    /// Object restore (`POST /secrets/restore`, keys, certificates): the sealed backup blob.
    static let backupBlob = FuzzTarget(
        "backup-blob",
        seeds: {
            let codec = BackupCodec(key: try AEADKey(bytes: BackupKeys.objectKey))
            return [Array(try codec.seal(["name": "fuzz", "value": "v"], kind: .secret).utf8)]
        },
        run: { bytes in
            let codec = BackupCodec(key: try AEADKey(bytes: BackupKeys.objectKey))
            _ = try codec.open(String(fuzzed: bytes), as: [String: String].self, kind: .secret)
        })

    /// `coffre backup restore FILE`: a whole-server backup file.
    static let serverBackup = FuzzTarget(
        "server-backup",
        seeds: {
            let storage = MemoryStorage()
            try blocking {
                try await storage.transaction { transaction in
                    try await transaction.put("sys/vaults/fuzz", [1, 2, 3])
                    try await transaction.put("data/x", [])
                }
            }
            return [try blocking { try await ServerBackup.create(from: storage, rootKey: BackupKeys.rootKey).file }]
        },
        run: { bytes in
            _ = try blocking { try await ServerBackup.restore(bytes, into: MemoryStorage(), rootKey: BackupKeys.rootKey) }
        })
}
