import CoffreCrypto
import CoffreModel

/// One HTTP exchange of the Blob client, carried by the caller's transport (AsyncHTTPClient in the server; the Blob
/// service itself, in process, for Coffre's own accounts).
public protocol BlobTransport: Sendable {
    func send(_ request: BlobClientRequest) async throws -> BlobClientResponse
}

public struct BlobClientRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]
}

public struct BlobClientResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: [UInt8]

    public init(status: Int, headers: [(name: String, value: String)], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
}

/// A refusal from the Blob service: its status, error code and message.
public struct BlobClientError: Error, Equatable, Sendable, CustomStringConvertible {
    public var status: Int
    public var code: String
    public var message: String

    public var description: String { "The Blob service answered \(status) \(code): \(message)" }
}

/// A blob as List Blobs describes it.
public struct BlobItem: Sendable, Equatable {
    public var name: String
    public var length: Int
}

/// A client of one container, authorised by a SAS token: what Managed HSM backups need to write a backup folder and
/// read it back (Put Blob, Put Block, Put Block List, Get Blob, List Blobs), against Azure Storage or Coffre's own Blob
/// service alike.
public struct BlobContainerClient: Sendable {
    public let containerURL: String
    let token: String
    let transport: any BlobTransport

    /// Blocks of an upload larger than one block (the official client's default).
    public static let blockSize = 4 * 1024 * 1024

    /// - Parameters:
    ///   - containerURL: `https://{account}.blob.{zone}[:port]/{container}`.
    ///   - sasToken: the token, with or without its leading `?`.
    public init(containerURL: String, sasToken: String, transport: any BlobTransport) throws {
        guard let url = BlobURL(containerURL), url.path.split(separator: "/").count == 1 else {
            throw BlobClientError(status: 0, code: "InvalidContainerUrl", message: "Expected https://{account}.blob.{zone}/{container}.")
        }
        self.containerURL = containerURL.hasSuffix("/") ? String(containerURL.dropLast()) : containerURL
        self.token = sasToken.hasPrefix("?") ? String(sasToken.dropFirst()) : sasToken
        self.transport = transport
    }

    /// Writes a blob: in one Put Blob up to `blockSize`, else in blocks committed by one Put Block List.
    public func upload(_ name: String, _ bytes: [UInt8], contentType: String = "application/octet-stream") async throws {
        guard bytes.count > Self.blockSize else { return try await putBlob(name, bytes, contentType: contentType) }
        var ids: [String] = []
        for (index, start) in stride(from: 0, to: bytes.count, by: Self.blockSize).enumerated() {
            let id = Base64.standardEncoded(Array(String(index).leftPadded(32).utf8))
            try await putBlock(name, blockId: id, Array(bytes[start..<min(start + Self.blockSize, bytes.count)]))
            ids.append(id)
        }
        try await putBlockList(name, blockIds: ids, contentType: contentType)
    }

    public func putBlob(_ name: String, _ bytes: [UInt8], contentType: String = "application/octet-stream") async throws {
        _ = try await send(
            "PUT", name, headers: [("x-ms-blob-type", "BlockBlob"), ("x-ms-blob-content-type", contentType), ("Content-Type", contentType)],
            body: bytes, expect: 201)
    }

    public func putBlock(_ name: String, blockId: String, _ bytes: [UInt8]) async throws {
        _ = try await send("PUT", name, query: "comp=block&blockid=\(PercentEncoding.encode(blockId, keepingSlash: false))", body: bytes, expect: 201)
    }

    public func putBlockList(_ name: String, blockIds: [String], contentType: String = "application/octet-stream") async throws {
        _ = try await send(
            "PUT", name, query: "comp=blocklist", headers: [("x-ms-blob-content-type", contentType), ("Content-Type", "application/xml")],
            body: Listings.blockListBody(blockIds), expect: 201)
    }

    /// The blob's whole content.
    public func download(_ name: String) async throws -> [UInt8] {
        try await send("GET", name, expect: 200).body
    }

    /// Every blob whose name starts with `prefix`, following the service's pages.
    public func list(prefix: String = "") async throws -> [BlobItem] {
        var items: [BlobItem] = []
        var marker: String?
        repeat {
            var query = "restype=container&comp=list&prefix=\(PercentEncoding.encode(prefix, keepingSlash: false))"
            if let marker { query += "&marker=\(PercentEncoding.encode(marker, keepingSlash: false))" }
            let response = try await send("GET", nil, query: query, expect: 200)
            guard let root = XMLElement.parse(response.body), root.name == "EnumerationResults" else {
                throw BlobClientError(status: response.status, code: "InvalidXmlDocument", message: "The blob listing is not XML.")
            }
            for blob in root.child("Blobs")?.children("Blob") ?? [] {
                guard let name = blob.child("Name") else { continue }
                let text = name.attributes["Encoded"] == "true" ? PercentEncoding.decode(name.text, plusIsSpace: false) ?? name.text : name.text
                items.append(BlobItem(name: text, length: Int(blob.child("Properties")?.child("Content-Length")?.text ?? "") ?? 0))
            }
            marker = root.child("NextMarker").map(\.text).flatMap { $0.isEmpty ? nil : $0 }
        } while marker != nil
        return items
    }

    private func send(
        _ method: String, _ blob: String?, query: String? = nil, headers: [(name: String, value: String)] = [], body: [UInt8] = [], expect: Int
    ) async throws -> BlobClientResponse {
        var url = containerURL
        if let blob { url += "/" + PercentEncoding.encode(blob, keepingSlash: true) }
        url += "?" + ([query, token.isEmpty ? nil : token].compactMap { $0 }.joined(separator: "&"))
        let request = BlobClientRequest(
            method: method, url: url,
            headers: headers + [("x-ms-version", SharedAccessSignature.currentVersion), ("Content-Length", String(body.count))],
            body: body)
        let response = try await transport.send(request)
        guard response.status == expect else {
            let error = XMLElement.parse(response.body)
            throw BlobClientError(
                status: response.status, code: response.header("x-ms-error-code") ?? error?.child("Code")?.text ?? "HTTP\(response.status)",
                message: error?.child("Message")?.text ?? "")
        }
        return response
    }
}

/// The Blob service reached in process: a client's request is handed to `BlobService` as the HTTP front would hand it
/// (the account from the host's first label), without a socket. Coffre's own accounts are reached this way.
public struct BlobServiceTransport: BlobTransport {
    let service: BlobService
    let clientAddress: String

    public init(service: BlobService, clientAddress: String = "127.0.0.1") {
        self.service = service
        self.clientAddress = clientAddress
    }

    public func send(_ request: BlobClientRequest) async throws -> BlobClientResponse {
        guard let url = BlobURL(request.url), let account = url.host.split(separator: ".").first else {
            throw BlobClientError(status: 0, code: "InvalidUrl", message: "Not a Blob service URL: \(request.url)")
        }
        var headers = BlobHeaders(request.headers)
        headers.add("Host", url.authority)
        let response = await service.handle(
            BlobRequest(
                method: request.method, account: String(account), path: url.path, query: url.query, headers: headers, body: request.body,
                secure: url.scheme == "https", clientAddress: clientAddress))
        return BlobClientResponse(status: response.status, headers: response.headers, body: try await response.body.collect())
    }
}

/// The parts of an absolute URL a Blob client needs (scheme, authority, host, path, query), as written.
struct BlobURL: Sendable, Equatable {
    var scheme: String
    var authority: String
    var path: String
    var query: String

    var host: String { authority.split(separator: ":").first.map(String.init) ?? authority }

    init?(_ text: String) {
        guard let schemeEnd = text.firstRange(of: "://") else { return nil }
        scheme = text[..<schemeEnd.lowerBound].lowercased()
        let rest = text[schemeEnd.upperBound...]
        let pathStart = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        authority = String(rest[..<pathStart])
        let target = rest[pathStart...]
        if let mark = target.firstIndex(of: "?") {
            path = String(target[..<mark])
            query = String(target[target.index(after: mark)...])
        } else {
            path = String(target)
            query = ""
        }
        guard ["http", "https"].contains(scheme), !authority.isEmpty else { return nil }
        if path.isEmpty { path = "/" }
    }
}
