import CoffreModel
import CoffreStorage

/// Carries out key rotation policies: `Rotate` after `timeAfterCreate` (from the latest version's creation) or
/// `timeBeforeExpiry` (before the latest version's expiry), and `Notify` before expiry. Each due action is claimed in a
/// transaction first, so several nodes sweeping at once act on each version once.
public struct KeyRotationService: Sendable {
    let keys: KeyService
    let vaults: VaultDirectory
    let clock: any WallClock
    /// Receives `Notify` actions (the server writes them to the audit log): vault, key name, version, expiry.
    let notify: @Sendable (VaultName, String, String, Int64?) -> Void

    public init(
        keys: KeyService, vaults: VaultDirectory, clock: any WallClock,
        notify: @escaping @Sendable (VaultName, String, String, Int64?) -> Void
    ) {
        self.keys = keys
        self.vaults = vaults
        self.clock = clock
        self.notify = notify
    }

    /// Runs every due action; returns the keys rotated and notified.
    @discardableResult
    public func sweep() async throws -> (rotated: [String], notified: [String]) {
        var rotated: [String] = []
        var notified: [String] = []
        let now = clock.now
        for vault in try await vaults.list() {
            for (name, policy) in try await keys.rotationPolicies(in: vault.name) {
                guard let latest = try? await keys.get(in: vault.name, name: name, version: nil) else { continue }
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
                    guard try await claim(kind, vault: vault.name, name: name, version: latest.record.version) else { continue }
                    if kind == "rotate" {
                        _ = try await keys.rotate(in: vault.name, name: name)
                        rotated.append("\(vault.name)/\(name)")
                    } else {
                        notify(vault.name, latest.name, latest.record.version, attributes.expires)
                        notified.append("\(vault.name)/\(name)")
                    }
                }
            }
        }
        return (rotated, notified)
    }

    /// Records that `action` was taken for this version; `false` if it already was (here or on another node).
    private func claim(_ action: String, vault: VaultName, name: String, version: String) async throws -> Bool {
        let key = "v/\(vault)/key-lifetime-\(action)/\(name)"
        return try await keys.storage.transaction { transaction in
            if let done = try await transaction.get(key), done == Array(version.utf8) { return false }
            try await transaction.put(key, Array(version.utf8))
            return true
        }
    }
}
