import CoffreCrypto
import CoffreJSON
import CoffreModel
import CoffreStorage

/// A stored version of a versioned object (a secret, key or certificate version).
public protocol VersionedRecord: Codable, Sendable {
    /// What a list of objects shows of the latest version, kept in the object's head.
    associatedtype Summary: Codable, Sendable
    var version: String { get }
    var attributes: ObjectAttributes { get set }
    var summary: Summary { get }
}

/// When an object was soft-deleted and when it will be purged.
public struct Deletion: Codable, JSONFieldsEncodable, Sendable, Equatable {
    public var deletedDate: Int64
    public var scheduledPurgeDate: Int64

    public init(deletedDate: Int64, scheduledPurgeDate: Int64) {
        self.deletedDate = deletedDate
        self.scheduledPurgeDate = scheduledPurgeDate
    }

    public func writeFields(_ object: inout JSONObjectWriter) throws {
        try object.field("deletedDate", deletedDate)
        try object.field("scheduledPurgeDate", scheduledPurgeDate)
    }
}

/// The head of an object: its name as first written, its latest version and that version's summary.
/// Live heads and deleted heads live under different prefixes so listing either one never skips the other.
public struct ObjectHead<Summary: Codable & Sendable>: Codable, JSONFieldsEncodable, Sendable {
    public var name: String
    public var latestVersion: String
    public var summary: Summary
    public var deletion: Deletion?

    public func writeFields(_ object: inout JSONObjectWriter) throws {
        try object.field("name", name)
        try object.field("latestVersion", latestVersion)
        try object.field("summary", summary)
        try object.field("deletion", deletion)
    }
}

/// An object version together with the name and deletion state of its object.
public struct Versioned<Record: VersionedRecord>: Sendable {
    public var name: String
    public var record: Record
    public var deletion: Deletion?
    /// Whether `record` is the object's latest version.
    public var isLatest: Bool
}

/// A page of results and the cursor to continue after it (`nil` on the last page).
public struct Page<Item: Sendable>: Sendable {
    public var items: [Item]
    public var next: String?
}

/// The purge schedule: soft-deleted things indexed by their purge date (`purge/{date}/{vault}/{segment}/{name}`), which
/// ``PurgeSweeper`` reads in date order. `segment` says what is purged (an ``ObjectKind``, `storage`, `storage-sas`, or
/// ``vaultSegment`` for a deleted vault, whose name is `-`).
enum PurgeSchedule {
    static let vaultSegment = "vault"

    static func key(date: Int64, vault: VaultName, segment: String, name: String) -> String {
        let padded = String(repeating: "0", count: max(0, 12 - String(date).count)) + String(date)
        return "purge/\(padded)/\(vault)/\(segment)/\(name)"
    }
}

extension StorageReader {
    /// The records under `prefix` after the cursor (a key relative to `prefix`), at most `limit`, with the cursor of
    /// the next page.
    func page<T: Decodable & Sendable>(_ type: T.Type, prefix: String, after cursor: String?, limit: Int) async throws -> Page<T> {
        let entries = try await readAll(type, prefix: prefix, after: cursor.map { prefix + $0 }, limit: limit + 1)
        return Page(
            items: entries.prefix(limit).map(\.record),
            next: entries.count > limit ? String(entries[limit - 1].key.dropFirst(prefix.count)) : nil)
    }
}

/// The storage rules shared by every kind of versioned object: versions, heads, soft delete, recovery, purge,
/// and the versions a backup carries. Every change is one transaction, so nothing is ever half-written.
///
/// Layout under `v/{vault}/`: `{kind}/{name}` live head, `deleted-{kind}/{name}` deleted head,
/// `{kind}-ver/{name}/{version}` versions; purge schedule under `purge/{date}/{vault}/{kind}/{name}`.
public struct VersionedStore<Record: VersionedRecord>: Sendable {
    public typealias Head = ObjectHead<Record.Summary>

    let storage: any StorageBackend
    public let kind: ObjectKind
    /// Collections of per-object records that live and die with the object (`key-rotationpolicy`).
    let companions: [String]

    public init(storage: any StorageBackend, kind: ObjectKind, companions: [String] = []) {
        self.storage = storage
        self.kind = kind
        self.companions = companions
    }

    /// Where an object's companion record lives (`v/{vault}/{companion}/{name}`).
    public func companionKey(_ companion: String, _ vault: VaultName, _ name: ObjectName) -> String {
        "v/\(vault)/\(companion)/\(name.key)"
    }

    // MARK: - Paths

    func livePrefix(_ vault: VaultName) -> String { "v/\(vault)/\(kind.rawValue)/" }
    func deletedPrefix(_ vault: VaultName) -> String { "v/\(vault)/deleted-\(kind.rawValue)/" }
    func versionPrefix(_ vault: VaultName, _ name: ObjectName) -> String { "v/\(vault)/\(kind.rawValue)-ver/\(name.key)/" }
    func liveKey(_ vault: VaultName, _ name: ObjectName) -> String { livePrefix(vault) + name.key }
    func deletedKey(_ vault: VaultName, _ name: ObjectName) -> String { deletedPrefix(vault) + name.key }
    func versionKey(_ vault: VaultName, _ name: ObjectName, _ version: String) -> String { versionPrefix(vault, name) + version }

    static func purgeKey(date: Int64, vault: VaultName, kind: ObjectKind, name: String) -> String {
        PurgeSchedule.key(date: date, vault: vault, segment: kind.rawValue, name: name)
    }

    // MARK: - Writing versions

    /// Adds a new version, creating the object when it does not exist. `make` receives the new version id and the
    /// current head (if any). A soft-deleted object of that name makes this a conflict.
    public func addVersion(
        in vault: VaultName, name: ObjectName, make: @escaping @Sendable (String, Head?) throws -> Record
    ) async throws -> Versioned<Record> {
        try await addVersion(in: vault, name: name, version: VersionID.from(randomBytes: SecureRandom.bytes(16)), make: make)
    }

    /// `addVersion` with a chosen version id (a token key's object is named after its version before the version is written).
    public func addVersion(
        in vault: VaultName, name: ObjectName, version: String, make: @escaping @Sendable (String, Head?) throws -> Record
    ) async throws -> Versioned<Record> {
        try await storage.transaction { try await addVersion(in: vault, name: name, version: version, transaction: $0, make: make) }
    }

    /// `addVersion` inside a caller's transaction, with a chosen version id (a certificate's key and secret share its id).
    public func addVersion(
        in vault: VaultName, name: ObjectName, version: String, transaction: any StorageTransaction,
        make: (String, Head?) throws -> Record
    ) async throws -> Versioned<Record> {
        let heads = try await transaction.get([deletedKey(vault, name), liveKey(vault, name)])
        guard heads[0] == nil else {
            throw CoffreError.deletedButRecoverable(kind, name: name.display)
        }
        let existing = try heads[1].map { try RecordCoder.decode(Head.self, from: $0, at: liveKey(vault, name)) }
        let record = try make(version, existing)
        let head = Head(name: existing?.name ?? name.display, latestVersion: version, summary: record.summary)
        try await transaction.write(record, at: versionKey(vault, name, version))
        try await transaction.write(head, at: liveKey(vault, name))
        return Versioned(name: head.name, record: record, isLatest: true)
    }

    /// Changes one version (the latest when `version` is nil), keeping the head's summary in step.
    public func update(
        in vault: VaultName, name: ObjectName, version: String?, change: @escaping @Sendable (inout Record) throws -> Void
    ) async throws -> Versioned<Record> {
        try await storage.transaction { try await update(in: vault, name: name, version: version, transaction: $0, change: change) }
    }

    public func update(
        in vault: VaultName, name: ObjectName, version: String?, transaction: any StorageTransaction, change: (inout Record) throws -> Void
    ) async throws -> Versioned<Record> {
        guard var head = try await transaction.read(Head.self, at: liveKey(vault, name)) else {
            throw CoffreError.notFound(kind, name: name.display)
        }
        let target = try resolve(version, of: head, name: name)
        guard var record = try await transaction.read(Record.self, at: versionKey(vault, name, target)) else {
            throw CoffreError.versionNotFound(kind, name: name.display, version: version ?? "")
        }
        try change(&record)
        try await transaction.write(record, at: versionKey(vault, name, target))
        if target == head.latestVersion {
            head.summary = record.summary
            try await transaction.write(head, at: liveKey(vault, name))
        }
        return Versioned(name: head.name, record: record, isLatest: target == head.latestVersion)
    }

    // MARK: - Reading

    /// One version of a live object (the latest when `version` is nil).
    public func get(in vault: VaultName, name: ObjectName, version: String?, from reader: (any StorageReader)? = nil) async throws
        -> Versioned<Record>
    {
        let reader = reader ?? storage
        guard let head = try await reader.read(Head.self, at: liveKey(vault, name)) else {
            throw CoffreError.notFound(kind, name: name.display)
        }
        let target = try resolve(version, of: head, name: name)
        guard let record = try await reader.read(Record.self, at: versionKey(vault, name, target)) else {
            throw CoffreError.versionNotFound(kind, name: name.display, version: version ?? "")
        }
        return Versioned(name: head.name, record: record, isLatest: target == head.latestVersion)
    }

    /// The live head, if the object exists.
    public func head(in vault: VaultName, name: ObjectName, from reader: (any StorageReader)? = nil) async throws -> Head? {
        try await (reader ?? storage).read(Head.self, at: liveKey(vault, name))
    }

    /// The heads of live objects, in name order.
    public func list(in vault: VaultName, after cursor: String?, limit: Int) async throws -> Page<Head> {
        try await page(prefix: livePrefix(vault), after: cursor, limit: limit)
    }

    /// The versions of a live object, in version-id order; none for a name no live object has (the service answers
    /// such a list with an empty page, not a 404).
    public func versions(in vault: VaultName, name: ObjectName, after cursor: String?, limit: Int) async throws
        -> Page<Versioned<Record>>
    {
        guard let head = try await storage.read(Head.self, at: liveKey(vault, name)) else { return Page(items: [], next: nil) }
        let prefix = versionPrefix(vault, name)
        let entries = try await storage.readAll(Record.self, prefix: prefix, after: cursor.map { prefix + $0 }, limit: limit + 1)
        return Page(
            items: entries.prefix(limit).map {
                Versioned(name: head.name, record: $0.record, isLatest: $0.record.version == head.latestVersion)
            },
            next: entries.count > limit ? String(entries[limit - 1].key.dropFirst(prefix.count)) : nil)
    }

    // MARK: - Soft delete, recovery, purge

    /// Soft-deletes every version: the head moves to the deleted prefix until `deletion.scheduledPurgeDate`.
    public func delete(in vault: VaultName, name: ObjectName, deletion: Deletion) async throws -> Versioned<Record> {
        try await storage.transaction { try await delete(in: vault, name: name, deletion: deletion, transaction: $0) }
    }

    public func delete(in vault: VaultName, name: ObjectName, deletion: Deletion, transaction: any StorageTransaction) async throws
        -> Versioned<Record>
    {
        guard var head = try await transaction.read(Head.self, at: liveKey(vault, name)) else {
            throw CoffreError.notFound(kind, name: name.display)
        }
        guard let record = try await transaction.read(Record.self, at: versionKey(vault, name, head.latestVersion)) else {
            throw StorageError.corrupt("the latest version of \(kind.noun) \(name.key) is missing")
        }
        head.deletion = deletion
        try await transaction.delete(liveKey(vault, name))
        try await transaction.write(head, at: deletedKey(vault, name))
        try await transaction.put(Self.purgeKey(date: deletion.scheduledPurgeDate, vault: vault, kind: kind, name: name.key), [])
        return Versioned(name: head.name, record: record, deletion: deletion, isLatest: true)
    }

    /// The latest version of a soft-deleted object.
    public func deleted(in vault: VaultName, name: ObjectName) async throws -> Versioned<Record> {
        guard let head = try await storage.read(Head.self, at: deletedKey(vault, name)) else {
            throw CoffreError.deletedNotFound(kind, name: name.display)
        }
        guard let record = try await storage.read(Record.self, at: versionKey(vault, name, head.latestVersion)) else {
            throw StorageError.corrupt("the latest version of deleted \(kind.noun) \(name.key) is missing")
        }
        return Versioned(name: head.name, record: record, deletion: head.deletion, isLatest: true)
    }

    public func listDeleted(in vault: VaultName, after cursor: String?, limit: Int) async throws -> Page<Head> {
        try await page(prefix: deletedPrefix(vault), after: cursor, limit: limit)
    }

    /// Brings a soft-deleted object back with all its versions.
    public func recover(in vault: VaultName, name: ObjectName) async throws -> Versioned<Record> {
        try await storage.transaction { try await recover(in: vault, name: name, transaction: $0) }
    }

    public func recover(in vault: VaultName, name: ObjectName, transaction: any StorageTransaction) async throws -> Versioned<Record> {
        guard var head = try await transaction.read(Head.self, at: deletedKey(vault, name)) else {
            throw CoffreError.deletedNotFound(kind, name: name.display)
        }
        guard let record = try await transaction.read(Record.self, at: versionKey(vault, name, head.latestVersion)) else {
            throw StorageError.corrupt("the latest version of deleted \(kind.noun) \(name.key) is missing")
        }
        if let deletion = head.deletion {
            try await transaction.delete(Self.purgeKey(date: deletion.scheduledPurgeDate, vault: vault, kind: kind, name: name.key))
        }
        head.deletion = nil
        try await transaction.delete(deletedKey(vault, name))
        try await transaction.write(head, at: liveKey(vault, name))
        return Versioned(name: head.name, record: record, isLatest: true)
    }

    /// Removes a soft-deleted object and all its versions for good.
    public func purge(in vault: VaultName, name: ObjectName) async throws {
        try await storage.transaction { try await purge(in: vault, name: name, transaction: $0) }
    }

    public func purge(in vault: VaultName, name: ObjectName, transaction: any StorageTransaction) async throws {
        guard let head = try await transaction.read(Head.self, at: deletedKey(vault, name)) else {
            throw CoffreError.deletedNotFound(kind, name: name.display)
        }
        try await erase(head, in: vault, name: name, transaction: transaction)
    }

    /// Purges the object if it is still deleted and due at `now` (the scheduled purge); `false` when not.
    public func purgeIfDue(in vault: VaultName, name: ObjectName, now: Int64) async throws -> Bool {
        try await storage.transaction { try await purgeIfDue(in: vault, name: name, now: now, transaction: $0) }
    }

    public func purgeIfDue(in vault: VaultName, name: ObjectName, now: Int64, transaction: any StorageTransaction) async throws -> Bool {
        guard let head = try await transaction.read(Head.self, at: deletedKey(vault, name)),
            let deletion = head.deletion, deletion.scheduledPurgeDate <= now
        else { return false }
        try await erase(head, in: vault, name: name, transaction: transaction)
        return true
    }

    private func erase(_ head: Head, in vault: VaultName, name: ObjectName, transaction: any StorageTransaction) async throws {
        if let deletion = head.deletion {
            try await transaction.delete(Self.purgeKey(date: deletion.scheduledPurgeDate, vault: vault, kind: kind, name: name.key))
        }
        try await transaction.delete(deletedKey(vault, name))
        try await transaction.deletePrefix(versionPrefix(vault, name))
        for companion in companions { try await transaction.delete(companionKey(companion, vault, name)) }
    }

    // MARK: - Backup and restore

    /// The head and every version of a live object (what a backup carries).
    public func export(in vault: VaultName, name: ObjectName) async throws -> (head: Head, versions: [Record]) {
        guard let head = try await storage.read(Head.self, at: liveKey(vault, name)) else {
            throw CoffreError.notFound(kind, name: name.display)
        }
        let versions = try await storage.readAll(Record.self, prefix: versionPrefix(vault, name)).map(\.record)
        return (head, versions)
    }

    /// Recreates an object with the exact versions of a backup; the name must be free (neither live nor deleted).
    public func restore(in vault: VaultName, head: Head, versions: [Record]) async throws -> Versioned<Record> {
        try await storage.transaction { try await restore(in: vault, head: head, versions: versions, transaction: $0) }
    }

    public func restore(in vault: VaultName, head: Head, versions: [Record], transaction: any StorageTransaction) async throws
        -> Versioned<Record>
    {
        let name = try ObjectName(head.name, kind: kind)
        guard let latest = versions.first(where: { $0.version == head.latestVersion }) else {
            throw CoffreError.badParameter("The backup blob is not valid: its latest version is missing.")
        }
        if try await transaction.get(deletedKey(vault, name)) != nil {
            throw CoffreError.deletedButRecoverable(kind, name: name.display)
        }
        guard try await transaction.get(liveKey(vault, name)) == nil else {
            throw CoffreError.conflict("\(kind.title) \(name.display) already exists: a backup can only be restored under a free name.")
        }
        for record in versions { try await transaction.write(record, at: versionKey(vault, name, record.version)) }
        var restored = head
        restored.deletion = nil
        try await transaction.write(restored, at: liveKey(vault, name))
        return Versioned(name: head.name, record: latest, isLatest: true)
    }

    // MARK: - Helpers

    private func resolve(_ version: String?, of head: Head, name: ObjectName) throws -> String {
        guard let version, !version.isEmpty else { return head.latestVersion }
        guard let normalised = VersionID.normalised(version) else {
            throw CoffreError.versionNotFound(kind, name: name.display, version: version)
        }
        return normalised
    }

    private func page(prefix: String, after cursor: String?, limit: Int) async throws -> Page<Head> {
        try await storage.page(Head.self, prefix: prefix, after: cursor, limit: limit)
    }
}
