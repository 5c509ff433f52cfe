import CoffreBlob
import CoffreModel

/// Regenerates the keys of managed storage accounts whose vault does it automatically (`autoRegenerateKey`): every
/// `regenerationPeriod`, the inactive key is regenerated and becomes the active one. Each regeneration is one
/// transaction that checks it is still due and records it in the account, so several nodes sweeping at once regenerate
/// each key once. Each regeneration is then reported (the server writes it to the audit log) once it is claimed
/// (``LifetimeClaims/notifyOnce(_:version:now:notify:)``): a report that failed, or whose node died, is made again at a
/// later sweep, so none is lost. Each vault's regenerations follow its own clock (``WallClock/now(in:)``).
public struct StorageKeyRegenerationService: Sendable {
    let storage: ManagedStorageService
    let vaults: VaultDirectory
    let clock: any WallClock
    let claims: LifetimeClaims
    /// Told of each regeneration: vault, managed storage account name, the new active key.
    let regenerated: @Sendable (VaultName, String, String) throws -> Void

    public init(
        storage: ManagedStorageService, vaults: VaultDirectory, clock: any WallClock,
        regenerated: @escaping @Sendable (VaultName, String, String) throws -> Void
    ) {
        self.storage = storage
        self.vaults = vaults
        self.clock = clock
        self.claims = LifetimeClaims(storage: storage.storage)
        self.regenerated = regenerated
    }

    /// Regenerates what is due now, then reports what was regenerated and not reported yet; returns `{vault}/{account}`
    /// of each account regenerated. An account whose Blob account is gone is skipped (its SAS definitions fail until it
    /// names an account again). An account that fails does not stop the others: the sweep goes on, then throws the first
    /// failure.
    @discardableResult
    public func sweep() async throws -> [String] {
        var done: [String] = []
        var failures = SweepFailures()
        for vault in try await vaults.list() {
            let now = clock.now(in: vault.name)
            for account in try await storage.all(in: vault.name) where (account.nextRegeneration ?? .max) <= now {
                await failures.record {
                    do {
                        if try await storage.regenerateIfDue(in: vault.name, name: account.name, now: now) != nil {
                            done.append("\(vault.name)/\(account.name)")
                        }
                    } catch is StorageAccountNotFound {}
                }
            }
            for account in try await storage.all(in: vault.name) {
                guard let regeneration = account.lastAutoRegeneration, let key = regeneration.split(separator: "@").first else { continue }
                await failures.record {
                    _ = try await claims.notifyOnce(
                        ManagedStorageService.regenerationReport(vault.name, account: account.name), version: regeneration, now: now
                    ) { try regenerated(vault.name, account.name, String(key)) }
                }
            }
        }
        try failures.throwFirst()
        return done
    }
}
