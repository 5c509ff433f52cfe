import CoffreJSON
import CoffreModel
import CoffreStorage

/// Which version each lifetime action (a key's `Rotate` and `Notify`, a certificate's `AutoRenew` and `EmailContacts`)
/// was carried out for: `v/{vault}/{collection}/{name}` holds the version id once the action is done, so several nodes
/// sweeping at once act on each version once, and a node that dies midway leaves the action to be carried out again:
///
/// - an action whose effect is written to storage (a rotation, a renewal) is claimed inside the effect's own
///   transaction (``claim(_:version:in:)``): after a crash it is either done and claimed, or neither;
/// - an action with an effect outside (a notification) is first claimed with a lease, then marked done
///   (``notifyOnce(_:version:now:notify:)``): a node that dies in between leaves a lease that ends, and the next sweep
///   notifies again (at least once, rather than perhaps never).
struct LifetimeClaims: Sendable {
    let storage: any StorageBackend
    /// How long a notification's claim keeps other nodes away.
    var lease: Int64 = 300

    /// Thrown inside an effect's transaction when the action was carried out for this version already.
    struct AlreadyCarriedOut: Error {}

    /// A notification under way: who may not notify until `until` (unix seconds).
    private struct Lease: Codable, JSONFieldsEncodable {
        var version: String
        var until: Int64

        func writeFields(_ object: inout JSONObjectWriter) throws {
            try object.field("version", version)
            try object.field("until", until)
        }
    }

    static func key(_ collection: String, vault: VaultName, name: String) -> String { "v/\(vault)/\(collection)/\(name)" }

    /// Records inside `transaction` that the action is carried out for `version`; throws ``AlreadyCarriedOut`` when it
    /// was (the transaction then writes nothing).
    static func claim(_ key: String, version: String, in transaction: any StorageTransaction) async throws {
        if try await transaction.get(key) == Array(version.utf8) { throw AlreadyCarriedOut() }
        try await transaction.put(key, Array(version.utf8))
    }

    /// Calls `notify` unless the action was carried out for `version`, or another node holds a lease on it; `false`
    /// when it did not.
    func notifyOnce(_ key: String, version: String, now: Int64, notify: () async throws -> Void) async throws -> Bool {
        let lease = Lease(version: version, until: now + lease)
        let claimed = try await storage.transaction { transaction -> Bool in
            guard let stored = try await transaction.get(key) else {
                try await transaction.write(lease, at: key)
                return true
            }
            if stored == Array(version.utf8) { return false }
            // A lease on this version that has not ended: another node is notifying.
            if let held = try? RecordCoder.decode(Lease.self, from: stored, at: key), held.version == version, held.until > now {
                return false
            }
            try await transaction.write(lease, at: key)
            return true
        }
        guard claimed else { return false }
        try await notify()
        try await storage.transaction { try await $0.put(key, Array(version.utf8)) }
        return true
    }
}
