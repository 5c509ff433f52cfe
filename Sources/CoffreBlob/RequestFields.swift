import CoffreCrypto

/// The conditional headers of a request (`If-Match`, `If-None-Match`, `If-Modified-Since`, `If-Unmodified-Since`) and
/// a lease id, checked against the resource inside the operation's transaction.
struct Conditions: Sendable, Equatable {
    var ifMatch: [String]?
    var ifNoneMatch: [String]?
    var ifModifiedSince: Int64?
    var ifUnmodifiedSince: Int64?
    var leaseId: String?

    init(ifMatch: [String]? = nil, ifNoneMatch: [String]? = nil, ifModifiedSince: Int64? = nil, ifUnmodifiedSince: Int64? = nil) {
        self.ifMatch = ifMatch
        self.ifNoneMatch = ifNoneMatch
        self.ifModifiedSince = ifModifiedSince
        self.ifUnmodifiedSince = ifUnmodifiedSince
    }

    /// Dates that do not parse are ignored, as HTTP servers do.
    init(_ headers: BlobHeaders) {
        ifMatch = headers["If-Match"].map(Self.etags)
        ifNoneMatch = headers["If-None-Match"].map(Self.etags)
        ifModifiedSince = headers["If-Modified-Since"].flatMap(StorageDate.parseRFC1123)
        ifUnmodifiedSince = headers["If-Unmodified-Since"].flatMap(StorageDate.parseRFC1123)
        leaseId = headers["x-ms-lease-id"]
    }

    /// A list of entity tags without quotes or weak markers (`*` stays `*`).
    static func etags(_ header: String) -> [String] {
        header.split(separator: ",").map { tag in
            var tag = tag.trimmingCharacters(in: " \t")
            if tag.hasPrefix("W/") { tag = String(tag.dropFirst(2)) }
            return tag.trimmingCharacters(in: "\"")
        }
    }

    var isEmpty: Bool { ifMatch == nil && ifNoneMatch == nil && ifModifiedSince == nil && ifUnmodifiedSince == nil && leaseId == nil }

    /// Before a change. `existing` is the resource's ETag and modification time, `nil` when it does not exist;
    /// `exists` is the error for `If-None-Match: *` on an existing resource (409 for Put Blob, 412 otherwise).
    func checkWrite(_ existing: (etag: String, lastModified: Int64)?, exists: BlobError = .conditionNotMet, lease: BlobError.Code) throws(BlobError) {
        guard let existing else {
            if ifMatch != nil { throw BlobError.conditionNotMet }
            return
        }
        if leaseId != nil { throw BlobError(lease) }
        if let ifMatch, !ifMatch.contains("*"), !ifMatch.contains(existing.etag) { throw BlobError.conditionNotMet }
        if let ifNoneMatch {
            if ifNoneMatch.contains("*") { throw exists }
            if ifNoneMatch.contains(existing.etag) { throw BlobError.conditionNotMet }
        }
        if let ifModifiedSince, existing.lastModified <= ifModifiedSince { throw BlobError.conditionNotMet }
        if let ifUnmodifiedSince, existing.lastModified > ifUnmodifiedSince { throw BlobError.conditionNotMet }
    }

    /// Before a read of an existing resource: `true` when the answer is 304 Not Modified; throws 412 when a
    /// precondition fails.
    func checkRead(etag: String, lastModified: Int64, lease: BlobError.Code) throws(BlobError) -> Bool {
        if leaseId != nil { throw BlobError(lease) }
        if let ifMatch, !ifMatch.contains("*"), !ifMatch.contains(etag) { throw BlobError.conditionNotMet }
        if let ifUnmodifiedSince, lastModified > ifUnmodifiedSince { throw BlobError.conditionNotMet }
        if let ifNoneMatch, ifNoneMatch.contains("*") || ifNoneMatch.contains(etag) { return true }
        if let ifModifiedSince, lastModified <= ifModifiedSince { return true }
        return false
    }
}

/// The `x-ms-meta-*` headers of a request: names must be C# identifiers, 8 KiB in all.
enum Metadata {
    static let prefix = "x-ms-meta-"
    static let maximumBytes = 8 * 1024

    static func parse(_ headers: BlobHeaders) throws(BlobError) -> [MetadataEntry] {
        var entries: [MetadataEntry] = []
        var size = 0
        for field in headers.fields where field.name.lowercased().hasPrefix(prefix) {
            let name = String(field.name.dropFirst(prefix.count))
            guard isIdentifier(name), !entries.contains(where: { $0.name.lowercased() == name.lowercased() }) else {
                throw BlobError(.invalidMetadata, details: [("MetadataName", String(name.prefix(256)))])
            }
            let value = field.value.trimmingCharacters(in: " \t")
            size += name.utf8.count + value.utf8.count
            entries.append(MetadataEntry(name: name, value: value))
        }
        guard size <= maximumBytes else { throw BlobError(.metadataTooLarge) }
        return entries
    }

    /// A letter or `_`, then letters, digits and `_`.
    static func isIdentifier(_ name: String) -> Bool {
        guard let first = name.unicodeScalars.first, first.properties.isAlphabetic || first == "_" else { return false }
        return name.unicodeScalars.allSatisfy { $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" }
    }

    static func headers(_ entries: [MetadataEntry]) -> [(name: String, value: String)] { entries.map { (prefix + $0.name, $0.value) } }
}

extension BlobProperties {
    /// The blob properties of a Put Blob (`x-ms-blob-*`, else the request's own `Content-*` headers), a Put Block List
    /// or a Set Blob Properties (`x-ms-blob-*` only; absent ones are cleared).
    init(_ headers: BlobHeaders, fallBackOnContentHeaders: Bool) throws(BlobError) {
        func value(_ name: String) -> String? {
            headers["x-ms-blob-" + name] ?? (fallBackOnContentHeaders && name != "content-md5" ? headers[name] : nil)
        }
        self.init(
            contentType: value("content-type"), contentEncoding: value("content-encoding"), contentLanguage: value("content-language"),
            contentDisposition: value("content-disposition"), cacheControl: value("cache-control"), contentMD5: nil)
        if let md5 = headers["x-ms-blob-content-md5"] {
            guard Base64.decode(md5)?.count == 16 else { throw BlobError.invalidHeader("x-ms-blob-content-md5", md5) }
            contentMD5 = md5
        }
    }
}

/// A byte range of `x-ms-range` (or `Range`): `bytes=start-end` or `bytes=start-`.
struct ByteRange: Sendable, Equatable {
    var start: Int
    var end: Int?

    /// `nil` without a range header; a malformed `x-ms-range` is a 400, a malformed `Range` is ignored (HTTP's rule).
    static func parse(_ headers: BlobHeaders) throws(BlobError) -> ByteRange? {
        if let value = headers["x-ms-range"] {
            guard let range = ByteRange(value) else { throw BlobError.invalidHeader("x-ms-range", value) }
            return range
        }
        return headers["Range"].flatMap(ByteRange.init)
    }

    init(start: Int, end: Int?) {
        self.start = start
        self.end = end
    }

    init?(_ header: String) {
        guard header.hasPrefix("bytes=") else { return nil }
        let bounds = header.dropFirst(6).split(separator: "-", maxSplits: 1, omittingEmptySubsequences: false)
        guard bounds.count == 2, let start = Int(bounds[0]), start >= 0 else { return nil }
        if bounds[1].isEmpty {
            self.init(start: start, end: nil)
        } else {
            guard let end = Int(bounds[1]), end >= start else { return nil }
            self.init(start: start, end: end)
        }
    }

    /// The bytes of a blob of `length` this range covers; `nil` when it starts past the end (416).
    func clamped(to length: Int) -> Range<Int>? {
        guard start < length else { return nil }
        guard let end, end < length - 1 else { return start..<length }
        return start..<(end + 1)
    }
}

extension String {
    /// Without leading and trailing characters of `characters` (header values, entity tags).
    func trimmingCharacters(in characters: String) -> String {
        guard let first = firstIndex(where: { !characters.contains($0) }), let last = lastIndex(where: { !characters.contains($0) }) else {
            return ""
        }
        return String(self[first...last])
    }
}

extension Substring {
    func trimmingCharacters(in characters: String) -> String { String(self).trimmingCharacters(in: characters) }
}
