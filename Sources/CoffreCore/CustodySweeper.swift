import CoffreCrypto
import CoffreKeyCustody
import CoffreModel
import CoffreStorage
import Synchronization

/// Destroys the token objects no stored record refers to any more: what a crash between a purge's commit and its
/// `destroy` leaves, a key made for a version whose transaction never committed, and the keys of a deleted vault.
///
/// Only this installation's objects are considered (their `CKA_ID` starts with its tag, ``installationTag(in:)``), so
/// Coffre installations sharing a token never touch each other's objects. An object is referred to when the version its
/// label names (`coffre:{vault}/{name}/{version}`) exists and holds it, or a pending certificate of that name does, or
/// (`coffre-attestation:{pool}`) the pool's attestation key record holds it; an
/// object is destroyed only when two sweeps at least ``grace`` apart found it unreferenced (a key being made now is in
/// the token a moment before its version commits).
public final class CustodySweeper: Sendable {
    let hardware: PKCS11Custody
    let storage: any StorageBackend
    let keys: KeyService
    let certificates: CertificateService
    let clock: any WallClock
    let grace: Int64
    private let schedule = Mutex(OrphanSchedule())

    public init(
        hardware: PKCS11Custody, storage: any StorageBackend, keys: KeyService, certificates: CertificateService, clock: any WallClock,
        grace: Int64 = 600
    ) {
        self.hardware = hardware
        self.storage = storage
        self.keys = keys
        self.certificates = certificates
        self.clock = clock
        self.grace = grace
    }

    /// One sweep; returns how many objects it destroyed.
    @discardableResult
    public func sweep() async throws -> Int {
        var unreferenced: [[UInt8]: PKCS11Custody.OwnedObject] = [:]
        for object in try await hardware.ownedObjects() where try await !isReferenced(object) {
            unreferenced[object.objectID] = object
        }
        let now = clock.now
        let due = schedule.withLock { $0.observe(unreferenced: Set(unreferenced.keys), at: now, grace: grace) }
        for id in due {
            try await hardware.destroyObjects(id: id, about: unreferenced[id]?.label)
        }
        return due.count
    }

    /// Whether the version the object's label names holds it (or a pending certificate does, or, for a pool's
    /// attestation key, the pool's record). A label Coffre did not write is left alone.
    private func isReferenced(_ object: PKCS11Custody.OwnedObject) async throws -> Bool {
        if object.label.hasPrefix(PoolCertifiedKey.attestationLabelPrefix) {
            guard let pool = ManagedHSMName(rawValue: String(object.label.dropFirst(PoolCertifiedKey.attestationLabelPrefix.count))) else {
                return true
            }
            let record = try await storage.read(PoolCertifiedKey.self, at: ManagedHSMPaths.attestationKey(pool))
            return record.map { holds($0.material, object) } ?? false
        }
        guard object.label.hasPrefix(Self.labelPrefix) else { return true }
        let parts = object.label.dropFirst(Self.labelPrefix.count).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 3, let vault = try? VaultName(parts[0]), let name = try? ObjectName(parts[1], kind: .key) else { return true }
        if let version = try await storage.read(KeyVersion.self, at: keys.store.versionKey(vault, name, parts[2])),
            holds(version.material, object)
        {
            return true
        }
        let certificate = try ObjectName(parts[1], kind: .certificate)
        if let pending = try await storage.read(PendingCertificate.self, at: certificates.operations.key(vault, certificate)),
            let material = pending.material, holds(material, object)
        {
            return true
        }
        return false
    }

    private func holds(_ material: String, _ object: PKCS11Custody.OwnedObject) -> Bool {
        guard let bytes = Base64.decode(material), case .token(let key) = try? CustodyKey(storedRepresentation: bytes) else { return false }
        return key.objectID == object.objectID
    }

    static let labelPrefix = "coffre:"

    /// Where the installation tag is kept. A whole-server restore drops it: the copy is another installation, which must
    /// not take the original's objects for its own when both use one token.
    public static let installationKey = "sys/custody/installation"

    /// This installation's tag (8 random bytes, made on first use and kept in the sealed storage): the first bytes of
    /// the `CKA_ID` of its token objects. Nodes sharing one database share it.
    public static func installationTag(in storage: any StorageBackend) async throws -> [UInt8] {
        let key = installationKey
        if let tag = try await storage.read(String.self, at: key).flatMap({ Base64.decode($0) }) { return tag }
        let made = Base64.urlEncoded(SecureRandom.bytes(8))
        let kept = try await storage.transaction { transaction in
            if let existing = try await transaction.read(String.self, at: key) { return existing }
            try await transaction.write(made, at: key)
            return made
        }
        guard let tag = Base64.decode(kept) else { throw StorageError.corrupt("the custody installation tag is unreadable") }
        return tag
    }
}

/// Which unreferenced objects are due for destruction: an object is due when it has been seen unreferenced for at least
/// `grace` seconds, in every sweep since it was first seen so (seen referenced, or gone, it starts over).
struct OrphanSchedule: Sendable {
    private(set) var firstSeen: [[UInt8]: Int64] = [:]

    mutating func observe(unreferenced: Set<[UInt8]>, at now: Int64, grace: Int64) -> [[UInt8]] {
        firstSeen = firstSeen.filter { unreferenced.contains($0.key) }
        var due: [[UInt8]] = []
        for id in unreferenced {
            if let since = firstSeen[id] {
                if now - since >= grace {
                    due.append(id)
                    firstSeen[id] = nil
                }
            } else {
                firstSeen[id] = now
            }
        }
        return due
    }
}
