import CoffreModel
import CoffreStorage

/// Carries out key rotation policies: `Rotate` after `timeAfterCreate` (from the latest version's creation) or
/// `timeBeforeExpiry` (before the latest version's expiry), and `Notify` before expiry. Each due action is claimed per
/// version (``LifetimeClaims``): a rotation in the new version's own transaction, so several nodes sweeping at once act on
/// each version once, and a node that dies midway leaves the version to rotate at the next sweep, never skipped.
public struct KeyRotationService: Sendable {
    let keys: KeyService
    let vaults: VaultDirectory
    let clock: any WallClock
    let claims: LifetimeClaims
    /// Receives `Notify` actions (the server writes them to the audit log): vault, key name, version, expiry.
    let notify: @Sendable (VaultName, String, String, Int64?) throws -> Void

    public init(
        keys: KeyService, vaults: VaultDirectory, clock: any WallClock,
        notify: @escaping @Sendable (VaultName, String, String, Int64?) throws -> Void
    ) {
        self.keys = keys
        self.vaults = vaults
        self.clock = clock
        self.claims = LifetimeClaims(storage: keys.storage)
        self.notify = notify
    }

    /// Runs every due action; returns the keys rotated and notified. An action that fails does not stop the others: the
    /// sweep goes on, then throws the first failure (the action is carried out at a later sweep).
    @discardableResult
    public func sweep() async throws -> (rotated: [String], notified: [String]) {
        var rotated: [String] = []
        var notified: [String] = []
        var failures = SweepFailures()
        for vault in try await vaults.list() {
            let now = clock.now(in: vault.name)
            for (name, policy) in try await keys.rotationPolicies(in: vault.name) {
                let latest: Versioned<KeyVersion>
                do {
                    latest = try await keys.get(in: vault.name, name: name, version: nil)
                } catch CoffreError.notFound {
                    continue
                }
                let attributes = latest.record.attributes
                for action in policy.lifetimeActions {
                    let due: Bool
                    if let after = action.timeAfterCreate {
                        due = attributes.created + (try ISODuration.seconds(after)) <= now
                    } else if let before = action.timeBeforeExpiry, let expires = attributes.expires {
                        due = expires - (try ISODuration.seconds(before)) <= now
                    } else {
                        due = false
                    }
                    guard due else { continue }
                    let kind = action.action.lowercased()
                    let claim = LifetimeClaims.key("key-lifetime-\(kind)", vault: vault.name, name: name)
                    let version = latest.record.version
                    await failures.record {
                        if kind == "rotate" {
                            do {
                                _ = try await keys.rotate(in: vault.name, name: name) {
                                    try await LifetimeClaims.claim(claim, version: version, in: $0)
                                }
                                rotated.append("\(vault.name)/\(name)")
                            } catch is LifetimeClaims.AlreadyCarriedOut {}
                        } else if try await claims.notifyOnce(
                            claim, version: version, now: now,
                            notify: {
                                try notify(vault.name, latest.name, version, attributes.expires)
                            })
                        {
                            notified.append("\(vault.name)/\(name)")
                        }
                    }
                }
            }
        }
        try failures.throwFirst()
        return (rotated, notified)
    }
}

/// The failures of a sweep's actions: each action runs whatever the others did, and the sweep reports the first.
struct SweepFailures {
    private var first: (any Error)?

    mutating func record(_ action: () async throws -> Void) async {
        do {
            try await action()
        } catch {
            first = first ?? error
        }
    }

    func throwFirst() throws {
        if let first { throw first }
    }
}
