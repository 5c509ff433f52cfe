/// Where a pool's records live in storage. Everything a request reads to authorise itself is under `sys/`, whose
/// changes a shared backend announces (so caches may keep it). A pool's keys are stored as a vault's are, under
/// `v/{pool}/`, by the same key service: pools and vaults share one namespace of names (a pool cannot take a vault's
/// name, nor a vault a pool's), so a pool's keys are never a vault's. Deleting a pool deletes its record and both
/// prefixes.
enum ManagedHSMPaths {
    static let poolsPrefix = "sys/hsms/"

    static func pool(_ name: ManagedHSMName) -> String { poolsPrefix + name.value }

    /// The pool's administration records (roles, assignments, settings, transfer and attestation keys).
    static func administration(_ name: ManagedHSMName) -> String { "sys/hsm/\(name)/" }

    /// The pool's objects (keys), where a vault of that name would keep its own.
    static func objects(_ name: ManagedHSMName) -> String { "v/\(name)/" }

    /// The record of the vault of that name (a pool may not take it).
    static func vault(_ name: ManagedHSMName) -> String { "sys/vaults/\(name)" }

    /// The record of a soft-deleted vault of that name, whose objects are still under `v/{name}/`.
    static func deletedVault(_ name: ManagedHSMName) -> String { "sys/deleted-vaults/\(name)" }

    static func customRoles(_ name: ManagedHSMName) -> String { administration(name) + "roles/" }

    static func customRole(_ name: ManagedHSMName, _ definition: String) -> String { customRoles(name) + definition }

    static func assignments(_ name: ManagedHSMName) -> String { administration(name) + "assignments/" }

    /// Assignments are stored per principal, so that a request reads only its caller's (`-` for none).
    static func assignments(_ name: ManagedHSMName, principal: String?) -> String {
        assignments(name) + (principal ?? "-") + "/"
    }

    static func assignment(_ name: ManagedHSMName, _ assignment: ManagedHSMRoleAssignment) -> String {
        assignments(name, principal: assignment.principalId) + assignment.name
    }

    static func settings(_ name: ManagedHSMName) -> String { administration(name) + "settings" }

    static func transferKey(_ name: ManagedHSMName) -> String { administration(name) + "transfer-key" }

    static func attestationKey(_ name: ManagedHSMName) -> String { administration(name) + "attestation-key" }

    /// The job that completes the pool's activation by a download or an upload.
    static func activationJob(_ name: ManagedHSMName, _ source: PoolActivation.ActivationSource) -> String {
        administration(name) + "securitydomain-\(source.rawValue)-job"
    }
}
