import CoffreBlob
import CoffreCrypto
import CoffreJSON
import CoffreKeyCustody
import CoffreModel
import CoffreStorage
import Foundation

/// Full backups of a pool to a Blob Storage container, full restores, selective key restores, and their dry runs,
/// each a job (``JobStore``) polled as the SDK pollers expect.
///
/// A backup is a folder `mhsm-{pool}-{yyyyMMddHHmmss}{2 digits}` in the container holding one blob, `backup.coffre`:
/// every record of the pool's keys (versions, deleted keys, rotation policies, purge schedule), its custom role
/// definitions, role assignments and settings, sealed with AES-256-GCM under a key derived from the pool's
/// security-domain root. Only a pool holding that root (the same pool, or one that received its security domain)
/// opens it. A key version's record carries its key as the custody backs it up (for a key in a PKCS#11 token, wrapped by
/// the token's backup key), and a restore makes new token objects: keys do not leave the HSM boundary, and a backup's
/// hardware keys restore only where that backup key is.
public struct ManagedHSMBackups: Sendable {
    /// What a finished job leaves: the backup's folder URL, or a restore's details.
    public struct Outcome: Codable, Sendable, Equatable {
        public var folderURL: String?
        public var details: String?
    }

    /// Where a backup goes or comes from: a container URL and a SAS token for it.
    public struct Location: Sendable {
        public var containerURL: String
        public var token: String?
        public var useManagedIdentity: Bool

        public init(containerURL: String, token: String?, useManagedIdentity: Bool) {
            self.containerURL = containerURL
            self.token = token
            self.useManagedIdentity = useManagedIdentity
        }
    }

    static let blobName = "backup.coffre"
    static let format = "coffre-managedhsm-backup/1"

    let storage: any StorageBackend
    let clock: any WallClock
    let jobs: JobStore<Outcome>
    /// Where the pool's keys live (their backups and restores).
    let keys: KeyService
    /// The transport to the Blob service of a container URL (Coffre's own accounts in process, others over HTTPS).
    let transport: @Sendable (String) -> any BlobTransport

    public init(
        storage: any StorageBackend, clock: any WallClock, jobs: JobStore<Outcome>, keys: KeyService,
        transport: @escaping @Sendable (String) -> any BlobTransport
    ) {
        self.storage = storage
        self.clock = clock
        self.jobs = jobs
        self.keys = keys
        self.transport = transport
    }

    var directory: ManagedHSMDirectory { ManagedHSMDirectory(storage: storage, clock: clock) }

    // MARK: - Jobs

    /// Writes a backup of the pool to the container; the job's outcome names the folder.
    public func backup(_ pool: ManagedHSMName, to location: Location) async throws -> JobView<Outcome> {
        let (root, container) = try await prepare(pool, location)
        return try await jobs.submit(.fullBackup, scope: pool.value) { _ throws(JobFailure) in
            try await Self.failing("Backup") {
                let folder = Self.folderName(pool, at: clock.now)
                let sealed = try await seal(try await export(pool), with: root)
                try await container.upload("\(folder)/\(Self.blobName)", sealed)
                return Outcome(folderURL: "\(container.containerURL)/\(folder)", details: nil)
            }
        }
    }

    /// Checks that a backup could be written (the pool is active, the container reachable with the token).
    public func preBackup(_ pool: ManagedHSMName, to location: Location) async throws -> JobView<Outcome> {
        let (_, container) = try await prepare(pool, location)
        return try await jobs.submit(.preBackup, scope: pool.value) { _ throws(JobFailure) in
            try await Self.failing("Pre-backup") {
                _ = try await container.list(prefix: "mhsm-")
                return Outcome(folderURL: nil, details: nil)
            }
        }
    }

    /// Restores a backup folder into the pool: its keys, role definitions and settings replace the pool's, its role
    /// assignments are added to the pool's (so that the pool's own administrators keep their access).
    public func restore(_ pool: ManagedHSMName, from location: Location, folder: String) async throws -> JobView<Outcome> {
        let folder = try Self.folder(folder)
        let (root, container) = try await prepare(pool, location)
        return try await jobs.submit(.fullRestore, scope: pool.value) { _ throws(JobFailure) in
            try await Self.failing("Restore") {
                let content = try open(try await container.download("\(folder)/\(Self.blobName)"), with: root)
                try await restoreAll(content, into: pool)
                return Outcome(folderURL: nil, details: nil)
            }
        }
    }

    /// Checks that a backup folder could be restored (it opens with the pool's root).
    public func preRestore(_ pool: ManagedHSMName, from location: Location, folder: String) async throws -> JobView<Outcome> {
        let folder = try Self.folder(folder)
        let (root, container) = try await prepare(pool, location)
        return try await jobs.submit(.preRestore, scope: pool.value) { _ throws(JobFailure) in
            try await Self.failing("Pre-restore") {
                _ = try open(try await container.download("\(folder)/\(Self.blobName)"), with: root)
                return Outcome(folderURL: nil, details: nil)
            }
        }
    }

    /// Restores one key (every version, or its deleted state) from a backup folder; versions the pool already holds are
    /// kept.
    public func restoreKey(_ name: String, into pool: ManagedHSMName, from location: Location, folder: String) async throws
        -> JobView<Outcome>
    {
        let key = try ObjectName(name, kind: .key).key
        let folder = try Self.folder(folder)
        let (root, container) = try await prepare(pool, location)
        return try await jobs.submit(.selectiveKeyRestore, scope: pool.value) { _ throws(JobFailure) in
            try await Self.failing("Selective key restore") {
                let content = try open(try await container.download("\(folder)/\(Self.blobName)"), with: root)
                let (restored, kept) = try await restoreKey(key, from: content, into: pool)
                guard restored + kept > 0 else { throw CoffreError.notFound(.key, name: name) }
                return Outcome(
                    folderURL: nil,
                    details: "Number of successful key versions restored: \(restored), Number of key versions could not overwrite: \(kept)")
            }
        }
    }

    /// A backup or restore job of the pool as a poll sees it; nil when there is none of that id.
    public func status(_ id: JobID, of pool: ManagedHSMName) async throws -> JobView<Outcome>? {
        try await jobs.poll(id, scope: pool.value)
    }

    /// The pool's root (it must be active) and a client of the container.
    private func prepare(_ pool: ManagedHSMName, _ location: Location) async throws -> (SecurityDomainRoot, BlobContainerClient) {
        let root = try await directory.get(pool).requireActive()
        guard let token = location.token, !token.isEmpty else {
            throw CoffreError.badParameter(
                location.useManagedIdentity
                    ? "Coffre pools have no managed identity for Blob Storage: give a SAS token for the container."
                    : "A SAS token for the container is required.")
        }
        do {
            return (root, try BlobContainerClient(containerURL: location.containerURL, sasToken: token, transport: transport(location.containerURL)))
        } catch {
            throw CoffreError.badParameter(
                "'\(location.containerURL)' is not a Blob Storage container URL (https://{account}.blob.{zone}/{container}).")
        }
    }

    /// Runs `work`, any failure becoming the job's (a message without secrets).
    static func failing(_ what: String, _ work: () async throws -> Outcome) async throws(JobFailure) -> Outcome {
        do {
            return try await work()
        } catch let error as BlobClientError {
            throw JobFailure(code: "StorageError", message: "\(what) failed: \(error)")
        } catch let error as CoffreError {
            throw JobFailure(code: "BadParameter", message: "\(what) failed: \(error)")
        } catch {
            throw JobFailure(code: "InternalError", message: "\(what) failed: \(error)")
        }
    }

    /// `mhsm-{pool}-{yyyyMMddHHmmss}{2 digits}`, as the service names backup folders.
    static func folderName(_ pool: ManagedHSMName, at time: Int64) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMddHHmmss"
        let digits = String(format: "%02d", Int.random(in: 0...99))
        return "mhsm-\(pool)-\(formatter.string(from: Date(timeIntervalSince1970: TimeInterval(time))))\(digits)"
    }

    /// A folder name from a request: one path segment.
    static func folder(_ name: String) throws -> String {
        let trimmed = name.trimmingCharacters(in: CharacterSet(charactersIn: "/"))
        guard !trimmed.isEmpty, !trimmed.contains("/"), trimmed != ".", trimmed != ".." else {
            throw CoffreError.badParameter("'\(name)' is not a backup folder name.")
        }
        return trimmed
    }

    // MARK: - Content

    /// The pool's records, named relative to the pool (`objects/…`, `roles/…`, `assignments/…`, `settings`,
    /// `purge/{date}/{kind}/{name}`), so that they restore into a pool of another name.
    struct Content: Codable, Sendable {
        var format: String
        var pool: String
        var created: Int64
        var entries: [Entry]

        struct Entry: Codable, Sendable {
            var key: String
            var value: String
        }
    }

    /// Where each part of a pool lives, with the relative name of its records.
    static func parts(_ pool: ManagedHSMName) -> [(relative: String, prefix: String)] {
        [
            ("objects/", ManagedHSMPaths.objects(pool)), ("roles/", ManagedHSMPaths.customRoles(pool)),
            ("assignments/", ManagedHSMPaths.assignments(pool)), ("settings", ManagedHSMPaths.settings(pool)),
        ]
    }

    func export(_ pool: ManagedHSMName) async throws -> Content {
        var entries: [Content.Entry] = []
        for (relative, prefix) in Self.parts(pool) {
            for entry in try await storage.scan(prefix: prefix, after: nil, limit: .max) {
                let name = relative + entry.key.dropFirst(prefix.count)
                let value = Self.keyVersionName(name) == nil ? entry.value : try await backedUp(entry.value, at: entry.key)
                entries.append(.init(key: name, value: Base64.urlEncoded(value)))
            }
        }
        // The purge schedule of the pool's deleted keys (`purge/{date}/{pool}/{kind}/{name}`).
        for entry in try await storage.scan(prefix: "purge/", after: nil, limit: .max) {
            let parts = entry.key.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 5, parts[2] == pool.value else { continue }
            entries.append(.init(key: "purge/\(parts[1])/\(parts[3])/\(parts[4])", value: Base64.urlEncoded(entry.value)))
        }
        return Content(format: Self.format, pool: pool.value, created: clock.now, entries: entries)
    }

    /// The storage key of a backup's record in `pool`.
    static func storageKey(_ relative: String, in pool: ManagedHSMName) throws -> String {
        if relative.hasPrefix("purge/") {
            let parts = relative.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 4 else { throw CoffreError.badParameter("The backup holds an unknown record.") }
            return "purge/\(parts[1])/\(pool)/\(parts[2])/\(parts[3])"
        }
        for (name, prefix) in parts(pool) where relative.hasPrefix(name) {
            return prefix + relative.dropFirst(name.count)
        }
        throw CoffreError.badParameter("The backup holds an unknown record.")
    }

    func seal(_ content: Content, with root: SecurityDomainRoot) async throws -> [UInt8] {
        let key = try AEADKey(bytes: root.derivedKey(for: "backup"))
        return try key.seal(try StreamingJSONEncoder.encode(content), authenticating: Array(Self.format.utf8))
    }

    func open(_ sealed: [UInt8], with root: SecurityDomainRoot) throws -> Content {
        let key = try AEADKey(bytes: root.derivedKey(for: "backup"))
        guard let plaintext = try? key.open(sealed, authenticating: Array(Self.format.utf8)),
            let content = try? JSONDecoder().decode(Content.self, from: Data(plaintext)), content.format == Self.format
        else {
            throw CoffreError.badParameter(
                "The backup cannot be opened: it was altered, or made by a pool holding another security domain.")
        }
        return content
    }

    /// The key name of a backup's key version record (`objects/key-ver/{name}/{version}`), nil for other records.
    static func keyVersionName(_ relative: String) -> String? {
        let parts = relative.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0] == "objects", parts[1] == "key-ver" else { return nil }
        return String(parts[2])
    }

    /// A key version's record as a backup carries it: its material is the custody's backup of its key.
    private func backedUp(_ value: [UInt8], at key: String) async throws -> [UInt8] {
        let version = try RecordCoder.decode(KeyVersion.self, from: value, at: key)
        return try RecordCoder.encode(try await keys.backedUp([version])[0])
    }

    /// The backup's records as `pool` keeps them (storage key, value, whether a key version), each key version's key
    /// back in custody (a hardware key a new object of this token), with the keys so made: destroyed again when the
    /// records are not written.
    private func records(of entries: [Content.Entry], into pool: ManagedHSMName) async throws
        -> (records: [(key: String, value: [UInt8], version: Bool)], made: [CustodyKey])
    {
        let vault = try VaultName(pool.value)
        var records: [(key: String, value: [UInt8], version: Bool)] = []
        var made: [CustodyKey] = []
        do {
            for entry in entries {
                let key = try Self.storageKey(entry.key, in: pool)
                var value = try Self.bytes(entry.value)
                if let name = Self.keyVersionName(entry.key) {
                    let version = try RecordCoder.decode(KeyVersion.self, from: value, at: key)
                    let (restored, keys) = try await keys.restoredKeys([version], in: vault, name: ObjectName(name, kind: .key))
                    made += keys
                    value = try RecordCoder.encode(restored[0])
                }
                records.append((key, value, Self.keyVersionName(entry.key) != nil))
            }
        } catch {
            await keys.destroy(made)
            throw error
        }
        return (records, made)
    }

    /// Replaces the pool's keys, role definitions and settings by the backup's and adds its role assignments, in one
    /// transaction.
    func restoreAll(_ content: Content, into pool: ManagedHSMName) async throws {
        let (records, made) = try await records(of: content.entries, into: pool)
        try await keys.destroyingOnFailure(made) {
            try await write(records, into: pool)
        }
    }

    private func write(_ records: [(key: String, value: [UInt8], version: Bool)], into pool: ManagedHSMName) async throws {
        try await storage.transaction { transaction in
            try await ManagedHSMAccessControl.requirePool(pool, in: transaction)
            for (_, prefix) in Self.parts(pool) where prefix != ManagedHSMPaths.assignments(pool) {
                try await transaction.deletePrefix(prefix)
            }
            for entry in try await transaction.scan(prefix: "purge/", after: nil, limit: .max)
            where entry.key.split(separator: "/").dropFirst(2).first.map(String.init) == pool.value {
                try await transaction.delete(entry.key)
            }
            for record in records { try await transaction.put(record.key, record.value) }
        }
    }

    /// Writes the records of one key (live or deleted) that the pool lacks; counts the versions restored and kept. When
    /// the pool holds the key already (live or deleted), only the versions it lacks are added: its head stays.
    func restoreKey(_ name: String, from content: Content, into pool: ManagedHSMName) async throws -> (restored: Int, kept: Int) {
        let collections = ["key", "deleted-key", "key-ver", "key-rotationpolicy", "key-lifetime-rotate", "key-lifetime-notify"]
        let entries = content.entries.filter { entry in
            let parts = entry.key.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            return (parts.count >= 3 && parts[0] == "objects" && collections.contains(parts[1]) && parts[2] == name)
                || (parts.count == 4 && parts[0] == "purge" && parts[2] == "key" && parts[3] == name)
        }
        let (records, made) = try await records(of: entries, into: pool)
        let heads = try ["objects/key/\(name)", "objects/deleted-key/\(name)"].map { try Self.storageKey($0, in: pool) }
        let (counts, unused) = try await keys.destroyingOnFailure(made) {
            try await storage.transaction { transaction in
                try await ManagedHSMAccessControl.requirePool(pool, in: transaction)
                var (restored, kept) = (0, 0)
                var unused: [String] = []
                let held = try await transaction.get(heads).contains { $0 != nil }
                let existing = try await transaction.get(records.map(\.key))
                for (record, current) in zip(records, existing) where record.version || !held {
                    if current == nil {
                        try await transaction.put(record.key, record.value)
                        if record.version { restored += 1 }
                    } else if record.version {
                        kept += 1
                        unused.append(try RecordCoder.decode(KeyVersion.self, from: record.value, at: record.key).material)
                    }
                }
                return ((restored, kept), unused)
            }
        }
        // The versions the pool kept have their own keys: the ones just made for them are not needed.
        await keys.destroyKeys(stored: unused)
        return counts
    }

    static func bytes(_ value: String) throws -> [UInt8] {
        guard let bytes = Base64.decode(value) else { throw CoffreError.badParameter("The backup holds a malformed record.") }
        return bytes
    }
}
