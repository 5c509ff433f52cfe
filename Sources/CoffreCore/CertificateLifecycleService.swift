import CoffreModel
import CoffreStorage

/// Carries out certificate lifetime actions: `AutoRenew` issues the next version from the policy (Self and Coffre
/// issuers), `EmailContacts` sends a notification for the vault's contacts (Coffre has no mail server: the server
/// delivers it to a webhook and the audit log). Triggers: a percentage of the latest version's lifetime, or days before
/// its expiry. Each action is claimed per version (``LifetimeClaims``): a renewal in the new version's own transaction,
/// so several nodes act once, and a node that dies midway leaves the renewal to the next sweep.
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
    let claims: LifetimeClaims
    let notify: @Sendable (Notification) async throws -> Void

    public init(
        certificates: CertificateService, vaults: VaultDirectory, clock: any WallClock,
        notify: @escaping @Sendable (Notification) async throws -> Void
    ) {
        self.certificates = certificates
        self.vaults = vaults
        self.clock = clock
        self.claims = LifetimeClaims(storage: certificates.storage)
        self.notify = notify
    }

    /// Runs every due action; an action that fails does not stop the others (the sweep throws the first failure at the
    /// end, and the action is carried out at a later sweep).
    @discardableResult
    public func sweep() async throws -> (renewed: [String], notified: [String]) {
        var renewed: [String] = []
        var notified: [String] = []
        var failures = SweepFailures()
        for vault in try await vaults.list() {
            let now = clock.now(in: vault.name)
            for (name, policy) in try await certificates.policies(in: vault.name) {
                let certificateName = try ObjectName(name, kind: .certificate)
                let found = try await CertificateService.leg(.certificate) {
                    try await certificates.store.get(in: vault.name, name: certificateName, version: nil)
                }
                guard let latest = found, let start = latest.record.attributes.notBefore, let end = latest.record.attributes.expires else {
                    continue
                }
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
                    let claim = LifetimeClaims.key("certificate-lifetime-\(kind)", vault: vault.name, name: name)
                    let version = latest.record.version
                    await failures.record {
                        if kind == "autorenew" {
                            // An Unknown issuer's renewal needs a human to merge: only EmailContacts applies to it.
                            guard (policy.issuerName ?? "").lowercased() != "unknown" else { return }
                            do {
                                _ = try await certificates.issue(
                                    in: vault.name, name: certificateName, policy: policy,
                                    properties: .init(enabled: true, tags: latest.record.tags, preserveCertOrder: latest.record.preserveCertOrder)
                                ) { try await LifetimeClaims.claim(claim, version: version, in: $0) }
                                renewed.append("\(vault.name)/\(name)")
                            } catch is LifetimeClaims.AlreadyCarriedOut {}
                        } else {
                            let sent = try await claims.notifyOnce(claim, version: version, now: now) {
                                let contacts = try await certificates.contacts.stored(in: vault.name)
                                try await notify(
                                    Notification(
                                        vault: vault.name.value, certificate: latest.name, version: version, expires: end, contacts: contacts))
                            }
                            if sent { notified.append("\(vault.name)/\(name)") }
                        }
                    }
                }
            }
        }
        try failures.throwFirst()
        return (renewed, notified)
    }
}
