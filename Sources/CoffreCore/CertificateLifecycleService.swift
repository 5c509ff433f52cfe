import CoffreModel
import CoffreStorage

/// Carries out certificate lifetime actions: `AutoRenew` issues the next version from the policy (Self and Coffre
/// issuers), `EmailContacts` sends a notification for the vault's contacts (Coffre has no mail server: the server
/// delivers it to a webhook and the audit log). Triggers: a percentage of the latest version's lifetime, or days before
/// its expiry. Each action is claimed per version in a transaction first, so several nodes act once.
public struct CertificateLifecycleService: Sendable {
    /// What an `EmailContacts` action reports.
    public struct Notification: Sendable, Equatable, Encodable {
        public var vault: String
        public var certificate: String
        public var version: String
        public var expires: Int64?
        public var contacts: [CertificateContact]
    }

    let certificates: CertificateService
    let vaults: VaultDirectory
    let clock: any WallClock
    let notify: @Sendable (Notification) async -> Void

    public init(
        certificates: CertificateService, vaults: VaultDirectory, clock: any WallClock, notify: @escaping @Sendable (Notification) async -> Void
    ) {
        self.certificates = certificates
        self.vaults = vaults
        self.clock = clock
        self.notify = notify
    }

    @discardableResult
    public func sweep() async throws -> (renewed: [String], notified: [String]) {
        var renewed: [String] = []
        var notified: [String] = []
        let now = clock.now
        for vault in try await vaults.list() {
            for (name, policy) in try await certificates.policies(in: vault.name) {
                guard let latest = try? await certificates.store.get(in: vault.name, name: ObjectName(name, kind: .certificate), version: nil),
                    let start = latest.record.attributes.notBefore, let end = latest.record.attributes.expires
                else { continue }
                for action in policy.lifetimeActions ?? [] {
                    let dueAt: Int64
                    if let percentage = action.lifetimePercentage {
                        dueAt = start + (end - start) * Int64(percentage) / 100
                    } else if let days = action.daysBeforeExpiry {
                        dueAt = end - Int64(days) * Seconds.day
                    } else {
                        continue
                    }
                    guard dueAt <= now else { continue }
                    let kind = action.action.lowercased()
                    guard try await claim(kind, vault: vault.name, name: name, version: latest.record.version) else { continue }
                    if kind == "autorenew" {
                        // An Unknown issuer's renewal needs a human to merge: only EmailContacts applies to it.
                        guard (policy.issuerName ?? "").lowercased() != "unknown" else { continue }
                        _ = try await certificates.issue(
                            in: vault.name, name: ObjectName(name, kind: .certificate), policy: policy,
                            properties: .init(enabled: true, tags: latest.record.tags, preserveCertOrder: latest.record.preserveCertOrder))
                        renewed.append("\(vault.name)/\(name)")
                    } else {
                        let contacts = (try? await certificates.contacts.get(in: vault.name)) ?? []
                        await notify(
                            Notification(
                                vault: vault.name.value, certificate: latest.name, version: latest.record.version, expires: end, contacts: contacts))
                        notified.append("\(vault.name)/\(name)")
                    }
                }
            }
        }
        return (renewed, notified)
    }

    private func claim(_ action: String, vault: VaultName, name: String, version: String) async throws -> Bool {
        let key = "v/\(vault)/certificate-lifetime-\(action)/\(name)"
        return try await certificates.storage.transaction { transaction in
            if let done = try await transaction.get(key), done == Array(version.utf8) { return false }
            try await transaction.put(key, Array(version.utf8))
            return true
        }
    }
}
