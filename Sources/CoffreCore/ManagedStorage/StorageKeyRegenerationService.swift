import CoffreBlob
import CoffreModel

/// Regenerates the keys of managed storage accounts whose vault does it automatically (`autoRegenerateKey`): every
/// `regenerationPeriod`, the inactive key is regenerated and becomes the active one. Each regeneration is one
/// transaction that checks it is still due, so several nodes sweeping at once regenerate each key once; the node that
/// did it reports it (the server writes it to the audit log).
public struct StorageKeyRegenerationService: Sendable {
    let storage: ManagedStorageService
    let vaults: VaultDirectory
    let clock: any WallClock
    /// Told of each regeneration: vault, managed storage account name, the new active key.
    let regenerated: @Sendable (VaultName, String, String) throws -> Void

    public init(
        storage: ManagedStorageService, vaults: VaultDirectory, clock: any WallClock,
        regenerated: @escaping @Sendable (VaultName, String, String) throws -> Void
    ) {
        self.storage = storage
        self.vaults = vaults
        self.clock = clock
        self.regenerated = regenerated
    }

    /// Regenerates what is due now; returns `{vault}/{account}` of each account regenerated. An account whose Blob
    /// account is gone is skipped (its SAS definitions fail until it names an account again).
    @discardableResult
    public func sweep() async throws -> [String] {
        var done: [String] = []
        let now = clock.now
        for vault in try await vaults.list() {
            for account in try await storage.dueRegenerations(in: vault.name, now: now) {
                let key: String?
                do {
                    key = try await storage.regenerateIfDue(in: vault.name, name: account.name, now: now)
                } catch is StorageAccountNotFound {
                    continue
                }
                guard let key else { continue }
                try regenerated(vault.name, account.name, key)
                done.append("\(vault.name)/\(account.name)")
            }
        }
        return done
    }
}
