import CoffreCrypto
import CoffreModel

/// The XML documents of listings: List Containers, List Blobs and Get Block List, in the service's element order.
enum Listings {
    struct Request {
        var endpoint: String
        var prefix: String?
        var marker: String?
        var maxResults: Int?
        var includeMetadata: Bool
    }

    static func containers(_ page: BlobStore.ContainerPage, request: Request, nextMarker: String?) -> [UInt8] {
        var xml = XMLWriter()
        xml.open("EnumerationResults", attributes: [("ServiceEndpoint", request.endpoint)])
        header(&xml, request)
        xml.open("Containers")
        for container in page.containers {
            xml.open("Container")
            xml.element("Name", container.name)
            xml.open("Properties")
            xml.element("Last-Modified", StorageDate.rfc1123(container.lastModified))
            xml.element("Etag", "\"\(container.etag)\"")
            xml.element("LeaseStatus", "unlocked")
            xml.element("LeaseState", "available")
            xml.element("DefaultEncryptionScope", "$account-encryption-key")
            xml.element("DenyEncryptionScopeOverride", "false")
            xml.element("HasImmutabilityPolicy", "false")
            xml.element("HasLegalHold", "false")
            xml.close("Properties")
            if request.includeMetadata { metadata(&xml, container.metadata) }
            xml.close("Container")
        }
        xml.close("Containers")
        xml.element("NextMarker", nextMarker ?? "")
        xml.close("EnumerationResults")
        return xml.bytes
    }

    static func blobs(_ page: BlobStore.BlobPage, request: Request, container: String, delimiter: String?, nextMarker: String?) -> [UInt8] {
        var xml = XMLWriter()
        xml.open("EnumerationResults", attributes: [("ServiceEndpoint", request.endpoint), ("ContainerName", container)])
        header(&xml, request)
        if let delimiter { xml.element("Delimiter", delimiter) }
        xml.open("Blobs")
        for item in page.items {
            switch item {
            case .prefix(let prefix):
                xml.open("BlobPrefix")
                name(&xml, prefix)
                xml.close("BlobPrefix")
            case .blob(let blob):
                xml.open("Blob")
                name(&xml, blob.name)
                xml.open("Properties")
                xml.element("Creation-Time", StorageDate.rfc1123(blob.created))
                xml.element("Last-Modified", StorageDate.rfc1123(blob.lastModified))
                xml.element("Etag", "\"\(blob.etag)\"")
                xml.element("Content-Length", String(blob.length))
                xml.element("Content-Type", blob.properties.contentType)
                xml.element("Content-Encoding", blob.properties.contentEncoding)
                xml.element("Content-Language", blob.properties.contentLanguage)
                xml.element("Content-CRC64", nil)
                xml.element("Content-MD5", blob.properties.contentMD5)
                xml.element("Cache-Control", blob.properties.cacheControl)
                xml.element("Content-Disposition", blob.properties.contentDisposition)
                xml.element("BlobType", "BlockBlob")
                xml.element("AccessTier", "Hot")
                xml.element("AccessTierInferred", "true")
                xml.element("LeaseStatus", "unlocked")
                xml.element("LeaseState", "available")
                xml.element("ServerEncrypted", "true")
                xml.close("Properties")
                if request.includeMetadata { metadata(&xml, blob.metadata) }
                xml.close("Blob")
            }
        }
        xml.close("Blobs")
        xml.element("NextMarker", nextMarker ?? "")
        xml.close("EnumerationResults")
        return xml.bytes
    }

    /// Get Block List: `committed` and `uncommitted` are `nil` when the list type leaves them out.
    static func blockList(committed: [BlockReference]?, uncommitted: [StagedBlock]?) -> [UInt8] {
        var xml = XMLWriter()
        xml.open("BlockList")
        if let committed {
            xml.open("CommittedBlocks")
            for block in committed where block.id != nil { self.block(&xml, id: block.id ?? "", size: block.size) }
            xml.close("CommittedBlocks")
        }
        if let uncommitted {
            xml.open("UncommittedBlocks")
            for block in uncommitted { self.block(&xml, id: block.id, size: block.size) }
            xml.close("UncommittedBlocks")
        }
        xml.close("BlockList")
        return xml.bytes
    }

    /// A block list body (what Put Block List sends).
    static func blockListBody(_ ids: [String]) -> [UInt8] {
        var xml = XMLWriter()
        xml.open("BlockList")
        for id in ids { xml.element("Latest", id) }
        xml.close("BlockList")
        return xml.bytes
    }

    private static func header(_ xml: inout XMLWriter, _ request: Request) {
        if let prefix = request.prefix { xml.element("Prefix", prefix) }
        if let marker = request.marker { xml.element("Marker", marker) }
        if let maxResults = request.maxResults { xml.element("MaxResults", String(maxResults)) }
    }

    private static func block(_ xml: inout XMLWriter, id: String, size: Int) {
        xml.open("Block")
        xml.element("Name", id)
        xml.element("Size", String(size))
        xml.close("Block")
    }

    /// A name XML 1.0 cannot carry (control characters) is sent percent-encoded with `Encoded="true"`, as Azure does.
    private static func name(_ xml: inout XMLWriter, _ name: String) {
        if XMLWriter.canCarry(name) {
            xml.element("Name", name)
        } else {
            xml.element("Name", PercentEncoding.encode(name, keepingSlash: true), attributes: [("Encoded", "true")])
        }
    }

    private static func metadata(_ xml: inout XMLWriter, _ entries: [MetadataEntry]) {
        xml.open("Metadata")
        for entry in entries { xml.element(entry.name, entry.value) }
        xml.close("Metadata")
    }
}

/// List markers: opaque to clients, the position after which the next page starts (a storage-key suffix), base64url.
enum ListMarker {
    static func encode(_ position: String) -> String { Base64.urlEncoded(Array(position.utf8)) }

    static func decode(_ marker: String?) throws(BlobError) -> String? {
        guard let marker, !marker.isEmpty else { return nil }
        guard let bytes = Base64.decode(marker), let position = String(validating: bytes, as: UTF8.self), position.utf8.allSatisfy({ $0 < 0x80 })
        else { throw BlobError.invalidQueryParameter("marker", marker, reason: "Not a marker this service returned.") }
        return position
    }
}
