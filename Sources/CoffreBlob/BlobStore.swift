import CoffreCrypto
import CoffreModel
import CoffreStorage

/// Containers and block blobs of the storage accounts, kept through the storage protocol (so under the barrier, like
/// every value): records as JSON, contents in chunks of `chunkSize` bytes. Every change is one transaction, conditions
/// are checked inside it, and content a change replaces is deleted in the same transaction.
struct BlobStore: Sendable {
    let storage: any StorageBackend
    let clock: any WallClock

    /// The size of the chunks content is stored in.
    static let chunkSize = 1 << 20
    /// Azure's limits on the blocks of a block blob.
    static let maximumCommittedBlocks = 50_000
    static let maximumBlockIdBytes = 64

    // MARK: Containers

    func createContainer(_ account: StorageAccountName, _ name: ContainerName, metadata: [MetadataEntry]) async throws -> ContainerRecord {
        let keys = BlobKeys(account)
        let now = clock.now
        let record = ContainerRecord(name: name.value, created: now, lastModified: now, etag: Identifiers.etag(), metadata: metadata)
        return try await storage.transaction { transaction in
            guard try await transaction.get(StorageAccountDirectory.key(account.value)) != nil else {
                throw BlobError.authenticationFailed("The storage account \(account) does not exist on this server.")
            }
            guard try await transaction.get(keys.container(name.value)) == nil else { throw BlobError(.containerAlreadyExists) }
            try await transaction.write(record, at: keys.container(name.value))
            return record
        }
    }

    func container(_ account: StorageAccountName, _ name: ContainerName) async throws -> ContainerRecord {
        guard let record = try await storage.read(ContainerRecord.self, at: BlobKeys(account).container(name.value)) else {
            throw BlobError.containerNotFound
        }
        return record
    }

    /// Deletes the container with its blobs, their blocks and contents.
    func deleteContainer(_ account: StorageAccountName, _ name: ContainerName, conditions: Conditions) async throws {
        let keys = BlobKeys(account)
        try await storage.transaction { transaction in
            guard let record = try await transaction.read(ContainerRecord.self, at: keys.container(name.value)) else {
                throw BlobError.containerNotFound
            }
            try conditions.checkWrite((record.etag, record.lastModified), lease: .leaseNotPresentWithContainerOperation)
            try await transaction.delete(keys.container(name.value))
            for prefix in [keys.blobs(name.value), keys.staged(name.value), keys.data(name.value)] { try await transaction.deletePrefix(prefix) }
        }
    }

    func setContainerMetadata(_ account: StorageAccountName, _ name: ContainerName, metadata: [MetadataEntry], conditions: Conditions)
        async throws -> ContainerRecord
    {
        let keys = BlobKeys(account)
        let (now, etag) = (clock.now, Identifiers.etag())
        return try await storage.transaction { transaction in
            guard var record = try await transaction.read(ContainerRecord.self, at: keys.container(name.value)) else {
                throw BlobError.containerNotFound
            }
            try conditions.checkWrite((record.etag, record.lastModified), lease: .leaseNotPresentWithContainerOperation)
            record.metadata = metadata
            record.lastModified = now
            record.etag = etag
            try await transaction.write(record, at: keys.container(name.value))
            return record
        }
    }

    struct ContainerPage: Sendable {
        var containers: [ContainerRecord]
        var nextMarker: String?
    }

    func listContainers(_ account: StorageAccountName, prefix: String, marker: String?, maxResults: Int) async throws -> ContainerPage {
        let keys = BlobKeys(account)
        let page = try await storage.readAll(
            ContainerRecord.self, prefix: keys.containers + prefix, after: marker.map { keys.containers + $0 }, limit: maxResults + 1)
        let containers = page.prefix(maxResults).map(\.record)
        return ContainerPage(containers: containers, nextMarker: page.count > maxResults ? containers.last?.name : nil)
    }

    // MARK: Writing blobs

    /// Put Blob: the body becomes the blob's whole content; its uncommitted blocks are discarded.
    func putBlob(
        _ account: StorageAccountName, _ container: ContainerName, _ name: BlobName, body: [UInt8], properties: BlobProperties,
        metadata: [MetadataEntry], conditions: Conditions, access: Access
    ) async throws -> BlobRecord {
        let keys = BlobKeys(account)
        let (now, etag, dataId) = (clock.now, Identifiers.etag(), Identifiers.id())
        return try await storage.transaction { transaction in
            let existing = try await writableBlob(name, in: container, keys: keys, conditions: conditions, access: access, transaction)
            var released = try await discardStaged(existing, in: container, keys: keys, transaction)
            released.formUnion(existing?.blocks.map(\.data) ?? [])
            for data in released { try await transaction.deletePrefix(keys.data(container.value, data)) }
            let blocks = body.isEmpty ? [] : [try await writeData(body[...], id: dataId, in: container, keys: keys, transaction)]
            let record = BlobRecord(
                name: name.value, created: existing.flatMap { $0.committed ? $0.created : nil } ?? now, lastModified: now, etag: etag,
                properties: properties, metadata: metadata, blocks: blocks, committed: true, staging: existing?.staging ?? Identifiers.id(),
                blockIdLength: nil)
            try await transaction.write(record, at: keys.blob(container.value, name))
            return record
        }
    }

    /// Put Block: stages a block under the blob (creating an uncommitted blob when there is none); a block of the same
    /// id is replaced.
    func putBlock(
        _ account: StorageAccountName, _ container: ContainerName, _ name: BlobName, blockId: String, body: [UInt8], access: Access
    ) async throws {
        guard let idBytes = Base64.decode(blockId), !idBytes.isEmpty, idBytes.count <= Self.maximumBlockIdBytes else {
            throw BlobError(.invalidBlockId)
        }
        let keys = BlobKeys(account)
        let dataId = Identifiers.id()
        let canonicalId = Base64.standardEncoded(idBytes)
        try await storage.transaction { transaction in
            guard try await transaction.get(keys.container(container.value)) != nil else { throw BlobError.containerNotFound }
            var record: BlobRecord
            if let existing = try await transaction.read(BlobRecord.self, at: keys.blob(container.value, name)) {
                if existing.committed, !access.mayOverwrite { throw BlobError(.authorizationPermissionMismatch) }
                if let length = existing.blockIdLength, length != idBytes.count { throw BlobError(.invalidBlobOrBlock) }
                record = existing
            } else {
                record = BlobRecord(
                    name: name.value, created: clock.now, lastModified: clock.now, etag: Identifiers.etag(), properties: BlobProperties(),
                    metadata: [], blocks: [], committed: false, staging: Identifiers.id(), blockIdLength: nil)
            }
            if record.blockIdLength == nil {
                // A new blob, or the first block staged on one: the record changes only then (parallel uploads of one
                // blob's blocks touch different keys).
                record.blockIdLength = idBytes.count
                try await transaction.write(record, at: keys.blob(container.value, name))
            }
            let blockKey = keys.staged(container.value, record.staging) + idBytes.map { String($0, radix: 16).leftPadded(2) }.joined()
            if let previous = try await transaction.read(StagedBlock.self, at: blockKey) {
                try await transaction.deletePrefix(keys.data(container.value, previous.data))
            }
            let block = try await writeData(body[...], id: dataId, in: container, keys: keys, transaction)
            try await transaction.write(StagedBlock(id: canonicalId, size: block.size, data: dataId), at: blockKey)
        }
    }

    /// Which list a Put Block List entry takes its block from.
    enum BlockSource: String, Sendable {
        case committed = "Committed"
        case uncommitted = "Uncommitted"
        case latest = "Latest"
    }

    /// Put Block List: the listed blocks become the blob's content; every other block, staged or committed, is deleted.
    func putBlockList(
        _ account: StorageAccountName, _ container: ContainerName, _ name: BlobName, blocks list: [(BlockSource, String)],
        properties: BlobProperties, metadata: [MetadataEntry], conditions: Conditions, access: Access
    ) async throws -> BlobRecord {
        guard list.count <= Self.maximumCommittedBlocks else { throw BlobError(.blockListTooLong) }
        let keys = BlobKeys(account)
        let (now, etag) = (clock.now, Identifiers.etag())
        let requested = list.map { ($0.0, Base64.decode($0.1).map(Base64.standardEncoded)) }
        return try await storage.transaction { transaction in
            let existing = try await writableBlob(name, in: container, keys: keys, conditions: conditions, access: access, transaction)
            var staged: [String: StagedBlock] = [:]
            if let existing {
                for entry in try await transaction.readAll(StagedBlock.self, prefix: keys.staged(container.value, existing.staging)) {
                    staged[entry.record.id] = entry.record
                }
            }
            let committed = existing?.committed == true ? existing?.blocks ?? [] : []
            var blocks: [BlockReference] = []
            for (source, id) in requested {
                guard let id else { throw BlobError(.invalidBlockList) }
                let fromStaged = staged[id].map { BlockReference(id: $0.id, size: $0.size, data: $0.data) }
                let fromCommitted = committed.first { $0.id == id }
                let block: BlockReference? =
                    switch source {
                    case .committed: fromCommitted
                    case .uncommitted: fromStaged
                    case .latest: fromStaged ?? fromCommitted
                    }
                guard let block else { throw BlobError(.invalidBlockList) }
                blocks.append(block)
            }
            let kept = Set(blocks.map(\.data))
            let previous = Set(committed.map(\.data)).union(staged.values.map(\.data))
            for data in previous.subtracting(kept) { try await transaction.deletePrefix(keys.data(container.value, data)) }
            if let existing { try await transaction.deletePrefix(keys.staged(container.value, existing.staging)) }
            let record = BlobRecord(
                name: name.value, created: existing.flatMap { $0.committed ? $0.created : nil } ?? now, lastModified: now, etag: etag,
                properties: properties, metadata: metadata, blocks: blocks, committed: true, staging: existing?.staging ?? Identifiers.id(),
                blockIdLength: blocks.first.flatMap { $0.id.flatMap(Base64.decode)?.count })
            try await transaction.write(record, at: keys.blob(container.value, name))
            return record
        }
    }

    /// Set Blob Metadata and Set Blob Properties: a committed blob's metadata or HTTP properties replaced.
    func updateBlob(
        _ account: StorageAccountName, _ container: ContainerName, _ name: BlobName, conditions: Conditions,
        _ change: @escaping @Sendable (inout BlobRecord) -> Void
    ) async throws -> BlobRecord {
        let keys = BlobKeys(account)
        let (now, etag) = (clock.now, Identifiers.etag())
        return try await storage.transaction { transaction in
            guard try await transaction.get(keys.container(container.value)) != nil else { throw BlobError.containerNotFound }
            guard var record = try await transaction.read(BlobRecord.self, at: keys.blob(container.value, name)), record.committed else {
                throw BlobError.blobNotFound
            }
            try conditions.checkWrite((record.etag, record.lastModified), lease: .leaseNotPresentWithBlobOperation)
            change(&record)
            record.lastModified = now
            record.etag = etag
            try await transaction.write(record, at: keys.blob(container.value, name))
            return record
        }
    }

    /// Delete Blob: the blob with its blocks and contents.
    func deleteBlob(_ account: StorageAccountName, _ container: ContainerName, _ name: BlobName, conditions: Conditions) async throws {
        let keys = BlobKeys(account)
        try await storage.transaction { transaction in
            guard try await transaction.get(keys.container(container.value)) != nil else { throw BlobError.containerNotFound }
            guard let record = try await transaction.read(BlobRecord.self, at: keys.blob(container.value, name)) else {
                throw BlobError.blobNotFound
            }
            if record.committed { try conditions.checkWrite((record.etag, record.lastModified), lease: .leaseNotPresentWithBlobOperation) }
            var released = try await discardStaged(record, in: container, keys: keys, transaction)
            released.formUnion(record.blocks.map(\.data))
            for data in released { try await transaction.deletePrefix(keys.data(container.value, data)) }
            try await transaction.delete(keys.blob(container.value, name))
        }
    }

    /// The existing blob a write replaces (committed or not), after checking the container, the conditions and whether
    /// the credential may replace it.
    private func writableBlob(
        _ name: BlobName, in container: ContainerName, keys: BlobKeys, conditions: Conditions, access: Access, _ transaction: any StorageTransaction
    ) async throws -> BlobRecord? {
        guard try await transaction.get(keys.container(container.value)) != nil else { throw BlobError.containerNotFound }
        let existing = try await transaction.read(BlobRecord.self, at: keys.blob(container.value, name))
        let committed = existing.flatMap { $0.committed ? $0 : nil }
        try conditions.checkWrite(
            committed.map { ($0.etag, $0.lastModified) }, exists: BlobError(.blobAlreadyExists), lease: .leaseNotPresentWithBlobOperation)
        if committed != nil, !access.mayOverwrite { throw BlobError(.authorizationPermissionMismatch) }
        return existing
    }

    /// Deletes a blob's uncommitted block records; returns the data ids they held.
    private func discardStaged(_ record: BlobRecord?, in container: ContainerName, keys: BlobKeys, _ transaction: any StorageTransaction)
        async throws -> Set<String>
    {
        guard let record else { return [] }
        let prefix = keys.staged(container.value, record.staging)
        let staged = try await transaction.readAll(StagedBlock.self, prefix: prefix)
        try await transaction.deletePrefix(prefix)
        return Set(staged.map(\.record.data))
    }

    /// Writes `bytes` as the chunks of a new data id.
    private func writeData(
        _ bytes: ArraySlice<UInt8>, id: String, in container: ContainerName, keys: BlobKeys, _ transaction: any StorageTransaction
    ) async throws -> BlockReference {
        var index = 0
        var offset = bytes.startIndex
        repeat {
            let end = min(offset + Self.chunkSize, bytes.endIndex)
            try await transaction.put(keys.chunk(container.value, id, index), Array(bytes[offset..<end]))
            index += 1
            offset = end
        } while offset < bytes.endIndex
        return BlockReference(id: nil, size: bytes.count, data: id)
    }

    // MARK: Reading blobs

    /// A committed blob (404 `BlobNotFound` when there is none, `ContainerNotFound` without the container).
    func blob(_ account: StorageAccountName, _ container: ContainerName, _ name: BlobName) async throws -> BlobRecord {
        let keys = BlobKeys(account)
        guard let record = try await storage.read(BlobRecord.self, at: keys.blob(container.value, name)), record.committed else {
            guard try await storage.get(keys.container(container.value)) != nil else { throw BlobError.containerNotFound }
            throw BlobError.blobNotFound
        }
        return record
    }

    /// The committed and uncommitted blocks of a blob (Get Block List).
    func blockList(_ account: StorageAccountName, _ container: ContainerName, _ name: BlobName) async throws -> (BlobRecord, [StagedBlock]) {
        let keys = BlobKeys(account)
        guard let record = try await storage.read(BlobRecord.self, at: keys.blob(container.value, name)) else {
            guard try await storage.get(keys.container(container.value)) != nil else { throw BlobError.containerNotFound }
            throw BlobError.blobNotFound
        }
        return (record, try await storage.readAll(StagedBlock.self, prefix: keys.staged(container.value, record.staging)).map(\.record))
    }

    /// The bytes `range` of a blob's content, read chunk by chunk as they are consumed.
    func content(_ account: StorageAccountName, _ container: ContainerName, _ record: BlobRecord, range: Range<Int>) -> BlobContent {
        BlobContent(storage: storage, keys: BlobKeys(account), container: container.value, blocks: record.blocks, range: range)
    }

    struct BlobPage: Sendable {
        enum Item: Sendable {
            case blob(BlobRecord)
            case prefix(String)
        }

        var items: [Item]
        var nextMarker: String?
    }

    /// List Blobs: names under `prefix` after the marker, in byte order, at most `maxResults` items; with a delimiter,
    /// the names that go on past it after the prefix are rolled up into one `BlobPrefix` each.
    func listBlobs(
        _ account: StorageAccountName, _ container: ContainerName, prefix: String, delimiter: String?, marker: String?, maxResults: Int,
        includeUncommitted: Bool
    ) async throws -> BlobPage {
        let keys = BlobKeys(account)
        guard try await storage.get(keys.container(container.value)) != nil else { throw BlobError.containerNotFound }
        let base = keys.blobs(container.value)
        let scanPrefix = base + StoredName.encode(prefix)
        let pageSize = min(maxResults + 1, 1000)
        var cursor = marker.map { base + $0 }
        var items: [BlobPage.Item] = []
        scanning: while true {
            let page = try await storage.readAll(BlobRecord.self, prefix: scanPrefix, after: cursor, limit: pageSize)
            for (key, record) in page {
                // A further name exists: the page ends after the last one taken.
                if items.count == maxResults { return BlobPage(items: items, nextMarker: cursor.map { String($0.dropFirst(base.count)) }) }
                cursor = key
                let rest = String(decoding: Array(record.name.utf8.dropFirst(prefix.utf8.count)), as: UTF8.self)
                if let delimiter, !delimiter.isEmpty, let end = rest.firstRange(of: delimiter)?.upperBound {
                    let rolledUp = prefix + rest[..<end]
                    items.append(.prefix(rolledUp))
                    // Resume after every name under the rolled-up prefix (stored names never hold 0x7F).
                    cursor = base + StoredName.encode(rolledUp) + "\u{7f}"
                    continue scanning
                }
                if record.committed || includeUncommitted { items.append(.blob(record)) }
            }
            if page.count < pageSize { break }
        }
        return BlobPage(items: items, nextMarker: nil)
    }
}

/// A blob's content over a range, read from storage one chunk at a time (a large blob is never in memory whole).
public struct BlobContent: AsyncSequence, Sendable {
    public typealias Element = [UInt8]

    let storage: any StorageReader
    let keys: BlobKeys
    let container: String
    /// The pieces to read: a data id, and the bytes of it.
    let pieces: [(data: String, bytes: Range<Int>)]
    public let length: Int

    init(storage: any StorageReader, keys: BlobKeys, container: String, blocks: [BlockReference], range: Range<Int>) {
        self.storage = storage
        self.keys = keys
        self.container = container
        var pieces: [(String, Range<Int>)] = []
        var offset = 0
        for block in blocks {
            let (lower, upper) = (Swift.max(range.lowerBound, offset), Swift.min(range.upperBound, offset + block.size))
            if lower < upper { pieces.append((block.data, (lower - offset)..<(upper - offset))) }
            offset += block.size
        }
        self.pieces = pieces
        self.length = range.count
    }

    public func makeAsyncIterator() -> Iterator { Iterator(content: self) }

    public struct Iterator: AsyncIteratorProtocol {
        let content: BlobContent
        var piece = 0
        var position: Int?

        public mutating func next() async throws -> [UInt8]? {
            while piece < content.pieces.count {
                let (data, bytes) = content.pieces[piece]
                let at = position ?? bytes.lowerBound
                guard at < bytes.upperBound else {
                    piece += 1
                    position = nil
                    continue
                }
                let index = at / BlobStore.chunkSize
                guard let chunk = try await content.storage.get(content.keys.chunk(content.container, data, index)) else {
                    // The blob was replaced or deleted while it was being read.
                    throw BlobError.conditionNotMet
                }
                let chunkStart = index * BlobStore.chunkSize
                let end = Swift.min(bytes.upperBound, chunkStart + chunk.count)
                guard end > at else { throw StorageError.corrupt("a chunk of blob content is shorter than its block") }
                position = end
                return Array(chunk[(at - chunkStart)..<(end - chunkStart)])
            }
            return nil
        }
    }
}
