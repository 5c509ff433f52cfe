/// Where a pool's records live in storage. Everything a request reads to authorise itself is under `sys/`, whose
/// changes a shared backend announces (so caches may keep it); the pool's objects are under `h/{pool}/`, as a vault's
/// are under `v/{vault}/`. Deleting a pool deletes its record and both prefixes.
enum ManagedHSMPaths {
    static let poolsPrefix = "sys/hsms/"

    static func pool(_ name: ManagedHSMName) -> String { poolsPrefix + name.value }

    /// The pool's administration records (roles, assignments, settings, transfer and attestation keys).
    static func administration(_ name: ManagedHSMName) -> String { "sys/hsm/\(name)/" }

    /// The pool's objects (keys).
    static func objects(_ name: ManagedHSMName) -> String { "h/\(name)/" }

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
}
