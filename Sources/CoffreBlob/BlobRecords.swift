import CoffreCrypto

/// A metadata pair (`x-ms-meta-{name}: value`), the name's case kept as the client wrote it.
struct MetadataEntry: Codable, Sendable, Equatable {
    var name: String
    var value: String
}

/// A container (`blob/{account}/c/{container}`).
struct ContainerRecord: Codable, Sendable, Equatable {
    var name: String
    var created: Int64
    var lastModified: Int64
    /// Without quotes (`0x8D…`).
    var etag: String
    var metadata: [MetadataEntry]
}

/// The HTTP properties a blob is served with.
struct BlobProperties: Codable, Sendable, Equatable {
    var contentType: String?
    var contentEncoding: String?
    var contentLanguage: String?
    var contentDisposition: String?
    var cacheControl: String?
    /// Base64 of the MD5 of the whole content, when known.
    var contentMD5: String?
}

/// A run of a blob's content: a block of a block list, or the whole body of a Put Blob (no id). Its bytes live in
/// chunks under `blob/{account}/d/{container}/{data}/`.
struct BlockReference: Codable, Sendable, Equatable {
    /// The block id (base64), `nil` for the body of a Put Blob.
    var id: String?
    var size: Int
    var data: String
}

/// A blob (`blob/{account}/b/{container}/{stored name}`). A blob that only has uncommitted blocks exists as a record
/// with `committed == false`: it is neither listed (unless asked) nor readable.
struct BlobRecord: Codable, Sendable, Equatable {
    var name: String
    var created: Int64
    var lastModified: Int64
    var etag: String
    var properties: BlobProperties
    var metadata: [MetadataEntry]
    var blocks: [BlockReference]
    var committed: Bool
    /// Where its uncommitted blocks are kept (`blob/{account}/u/{container}/{staging}/`).
    var staging: String
    /// Every block id of a blob has the same length (in decoded bytes).
    var blockIdLength: Int?

    var length: Int { blocks.reduce(0) { $0 + $1.size } }
}

/// An uncommitted block (`blob/{account}/u/{container}/{staging}/{hex of the id}`).
struct StagedBlock: Codable, Sendable, Equatable {
    var id: String
    var size: Int
    var data: String
}

/// The storage keys of one account's containers and blobs.
struct BlobKeys: Sendable {
    let root: String

    init(_ account: StorageAccountName) { root = StorageAccountDirectory.contentPrefix(account) }

    var containers: String { root + "c/" }
    func container(_ name: String) -> String { containers + name }
    func blobs(_ container: String) -> String { root + "b/\(container)/" }
    func blob(_ container: String, _ name: BlobName) -> String { blobs(container) + name.stored }
    func staged(_ container: String) -> String { root + "u/\(container)/" }
    func staged(_ container: String, _ staging: String) -> String { staged(container) + staging + "/" }
    func data(_ container: String) -> String { root + "d/\(container)/" }
    func data(_ container: String, _ id: String) -> String { data(container) + id + "/" }
    func chunk(_ container: String, _ id: String, _ index: Int) -> String { data(container, id) + String(index, radix: 16).leftPadded(8) }
}

/// Fresh identifiers: ETags in the service's shape, data and staging ids.
enum Identifiers {
    /// `0x8D` and 13 random hex digits, as Azure's ETags look.
    static func etag() -> String {
        "0x8D" + String(SecureRandom.bytes(7).map { String($0, radix: 16, uppercase: true).leftPadded(2) }.joined().prefix(13))
    }

    static func id() -> String { SecureRandom.bytes(12).map { String($0, radix: 16).leftPadded(2) }.joined() }
}

extension String {
    func leftPadded(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
