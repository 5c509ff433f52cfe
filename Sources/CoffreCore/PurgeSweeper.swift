import CoffreModel
import CoffreStorage

/// Purges soft-deleted objects and vaults whose scheduled purge date has passed. The schedule is an index ordered by date
/// (`purge/{date}/{vault}/{kind}/{name}`, ``PurgeSchedule``), so each sweep reads only what is due. Purging is transactional and
/// idempotent: several nodes sweeping at once purge each object once.
public struct PurgeSweeper: Sendable {
    let storage: any StorageBackend
    let clock: any WallClock
    let secrets: SecretService
    let keys: KeyService
    let certificates: CertificateService?
    let managedStorage: ManagedStorageService?
    let vaults: VaultDirectory?

    public init(
        storage: any StorageBackend, clock: any WallClock, secrets: SecretService, keys: KeyService, certificates: CertificateService? = nil,
        managedStorage: ManagedStorageService? = nil, vaults: VaultDirectory? = nil
    ) {
        self.storage = storage
        self.clock = clock
        self.secrets = secrets
        self.keys = keys
        self.certificates = certificates
        self.managedStorage = managedStorage
        self.vaults = vaults
    }

    /// Purges what is due now; returns how many objects were purged.
    @discardableResult
    public func sweep(batch: Int = 100) async throws -> Int {
        // Time travel may have moved some vaults further than others: look as far as the furthest, and purge what
        // is due in its own vault's time (the rest waits for a later sweep).
        let horizon = clock.latest
        var purged = 0
        var after: String?
        while true {
            let entries = try await storage.scan(prefix: "purge/", after: after, limit: batch)
            for entry in entries {
                after = entry.key
                if let due = DueEntry(entry) {
                    guard due.date <= horizon else { return purged }
                    if let vault = try? VaultName(due.vault) {
                        let now = clock.now(in: vault)
                        guard due.date <= now else { continue }
                        if try await purge(due, in: vault, now: now) { purged += 1 }
                    }
                }
                // An entry whose object is gone (vault deleted, recovered meanwhile) is dropped all the same.
                try await storage.transaction { try await $0.delete(entry.key) }
            }
            if entries.count < batch { return purged }
        }
    }

    private func purge(_ entry: DueEntry, in vault: VaultName, now: Int64) async throws -> Bool {
        if entry.kind == PurgeSchedule.vaultSegment { return try await vaults?.purgeIfDue(vault, now: now) ?? false }
        switch ObjectKind(rawValue: entry.kind) {
        case .secret: return try await secrets.purgeIfDue(in: vault, name: entry.name, now: now)
        case .key: return try await keys.purgeIfDue(in: vault, name: entry.name, now: now)
        case .certificate: return try await certificates?.purgeIfDue(in: vault, name: entry.name, now: now) ?? false
        case nil: return try await managedStorage?.purgeIfDue(in: vault, segment: entry.kind, name: entry.name, now: now) ?? false
        }
    }

    private struct DueEntry {
        let key: String
        let date: Int64
        let vault: String
        /// What is purged: an ``ObjectKind``, a managed storage segment (`storage`, `storage-sas`) or a deleted vault (`vault`).
        let kind: String
        let name: String

        init?(_ entry: StorageEntry) {
            let parts = entry.key.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 5, let date = Int64(parts[1]) else { return nil }
            self.key = entry.key
            self.date = date
            self.vault = String(parts[2])
            self.kind = String(parts[3])
            self.name = String(parts[4])
        }
    }
}
