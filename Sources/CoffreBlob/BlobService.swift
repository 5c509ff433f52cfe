import CoffreCrypto
import CoffreModel
import CoffreStorage

/// Coffre's Blob service, at the request level: a `BlobRequest` (method, account, path, query, headers, body) in, a
/// `BlobResponse` (status, headers, body) out, so that the HTTP front is one route group of thin handlers.
///
/// A request is routed to an operation, authenticated (Shared Key, or an account or service SAS, against the account's
/// two current keys), authorised for that operation, then carried out by `BlobStore`. Every refusal is a `BlobError`,
/// written here, and only here, as Azure Storage writes errors: status, `x-ms-error-code` and an XML body.
///
/// Limits: a request body (Put Blob, Put Block) is at most 64 MiB (`maximumRequestBody`, the official client's
/// single-upload threshold; larger uploads go in blocks); a blob has at most 50,000 committed blocks; metadata at most
/// 8 KiB; Azure's name rules apply to accounts and containers, and blob names of up to 1024 characters.
public struct BlobService: Sendable {
    public let accounts: StorageAccountDirectory
    let store: BlobStore
    let authenticator: BlobAuthenticator
    let clock: any WallClock

    public static let maximumRequestBody = 64 * 1024 * 1024
    /// The largest range whose MD5 Get Blob computes (`x-ms-range-get-content-md5`), Azure's 4 MiB.
    static let maximumRangeForMD5 = 4 * 1024 * 1024
    static let maximumListResults = 5000

    /// `signatureClock`: the clock SAS validity windows are checked on (time travel's server clock in development mode,
    /// so that SAS tokens expire when the clock moves past them); by default `clock`. Shared Key dates are always checked
    /// on `clock`: clients sign them with real time.
    public init(
        storage: any StorageBackend, clock: any WallClock, signatureClock: (any WallClock)? = nil, accounts: StorageAccountDirectory? = nil
    ) {
        self.accounts = accounts ?? StorageAccountDirectory(storage: storage, clock: clock)
        self.store = BlobStore(storage: storage, clock: clock)
        self.authenticator = BlobAuthenticator(clock: clock, signatureClock: signatureClock ?? clock)
        self.clock = clock
    }

    /// Answers one request; never throws: a failure is the error response Azure Storage would send.
    public func handle(_ request: BlobRequest) async -> BlobResponse {
        let requestId = request.requestId ?? SecureRandom.uuid()
        let routed: Routed
        do {
            routed = try Routed(request)
        } catch {
            return refusal(Self.blobError(error), to: request, requestId: requestId)
        }
        var response: BlobResponse
        do {
            response = try await perform(request, routed)
            response.headers = commonHeaders(request, requestId: requestId) + response.headers
        } catch {
            response = refusal(Self.blobError(error), to: request, requestId: requestId)
        }
        response.operation = routed.operation.logName
        return response
    }

    /// A request's parameters, target and operation.
    struct Routed {
        var query: QueryParameters
        var target: BlobTarget
        var operation: BlobOperation

        init(_ request: BlobRequest) throws(BlobError) {
            query = try QueryParameters(request.query)
            target = try BlobTarget(path: request.path)
            operation = try BlobOperation(method: request.method, target: target, query: query)
        }
    }

    /// The answer to a request refused before it reached the service (a front's own limits): 413 for a body too large,
    /// 503 when the server cannot serve now, 500 otherwise.
    public func refusal(status: Int, to request: BlobRequest) -> BlobResponse {
        let code: BlobError.Code =
            switch status {
            case 413: .requestBodyTooLarge
            case 503: .serverBusy
            default: .internalError
            }
        let failure = code == .requestBodyTooLarge ? BlobError.tooLarge(limit: Self.maximumRequestBody) : BlobError(code)
        return refusal(failure, to: request, requestId: request.requestId ?? SecureRandom.uuid())
    }

    /// An error as Azure Storage writes it: its status, `x-ms-error-code`, and the XML body (none for HEAD).
    private func refusal(_ failure: BlobError, to request: BlobRequest, requestId: String) -> BlobResponse {
        let headers = commonHeaders(request, requestId: requestId) + [("x-ms-error-code", failure.code.name)]
        guard request.method != "HEAD" else { return BlobResponse(status: failure.code.status, headers: headers) }
        return BlobResponse(
            status: failure.code.status, headers: headers + [("Content-Type", "application/xml")],
            body: .bytes(failure.xml(requestId: requestId, time: StorageDate.errorTime(clock.now))))
    }

    private func commonHeaders(_ request: BlobRequest, requestId: String) -> [(name: String, value: String)] {
        let version = request.headers["x-ms-version"].flatMap(Self.validVersion) ?? SharedAccessSignature.currentVersion
        var headers = [("x-ms-request-id", requestId), ("x-ms-version", version), ("Date", StorageDate.rfc1123(clock.now))]
        if let clientRequestId = request.headers["x-ms-client-request-id"] { headers.append(("x-ms-client-request-id", clientRequestId)) }
        return headers
    }

    /// A Blob error as it is; storage failures as the service's retryable 503 or its 500, anything else a 500.
    static func blobError(_ error: any Error) -> BlobError {
        switch error {
        case let error as BlobError: error
        case StorageError.unavailable, StorageError.notWritable: BlobError(.serverBusy)
        default: BlobError(.internalError)
        }
    }

    /// `x-ms-version` is a date (`2026-10-06`); any version a client sends is accepted, as for vaults.
    static func validVersion(_ version: String) -> String? {
        version.utf8.count == 10 && StorageDate.parseISO8601(version) != nil ? version : nil
    }

    private func perform(_ request: BlobRequest, _ routed: Routed) async throws -> BlobResponse {
        let (query, target, operation) = (routed.query, routed.target, routed.operation)
        if let version = request.headers["x-ms-version"], Self.validVersion(version) == nil {
            throw BlobError.invalidHeader("x-ms-version", version)
        }
        let account = try await accounts.find(request.account.lowercased())
        let credential = try authenticator.authenticate(request, target: target, query: query, account: account)
        let access = try operation.authorize(credential)
        guard let account, !request.bodyExceedsLimit, request.body.count <= Self.maximumRequestBody else {
            throw BlobError.tooLarge(limit: Self.maximumRequestBody)
        }
        let context = Context(
            request: request, query: query, account: account.name, access: access, credential: credential,
            endpoint: "https://\(request.headers["Host"] ?? "\(account.name).blob.core.windows.net")/")
        switch operation {
        case .listContainers: return try await listContainers(context)
        case .getAccountInformation:
            return BlobResponse(
                status: 200, headers: [("x-ms-sku-name", "Standard_LRS"), ("x-ms-account-kind", "StorageV2"), ("x-ms-is-hns-enabled", "false")])
        case .createContainer: return try await createContainer(context, try ContainerName(target.container ?? ""))
        case .deleteContainer:
            try await store.deleteContainer(account.name, try ContainerName(target.container ?? ""), conditions: Conditions(request.headers))
            return BlobResponse(status: 202)
        case .getContainerProperties: return try await containerProperties(context, try ContainerName(target.container ?? ""))
        case .setContainerMetadata:
            let record = try await store.setContainerMetadata(
                account.name, try ContainerName(target.container ?? ""), metadata: try Metadata.parse(request.headers),
                conditions: Conditions(request.headers))
            return BlobResponse(status: 200, headers: Self.versionHeaders(etag: record.etag, lastModified: record.lastModified))
        case .listBlobs: return try await listBlobs(context, try ContainerName(target.container ?? ""))
        default:
            let container = try ContainerName(target.container ?? "")
            let blob = try BlobName(target.blob ?? "")
            return try await blobOperation(operation, context, container, blob)
        }
    }

    /// What the handlers of one request share.
    struct Context {
        var request: BlobRequest
        var query: QueryParameters
        var account: StorageAccountName
        var access: Access
        var credential: Credential
        var endpoint: String

        var headers: BlobHeaders { request.headers }
    }

    // MARK: Containers

    /// Creates a container of the account unless it exists; for Coffre's own uses (the backup container of a Managed
    /// HSM pool that `coffre env --hsm` names), not a request's.
    public func ensureContainer(_ name: String, in account: StorageAccountName) async throws {
        do {
            _ = try await store.createContainer(account, try ContainerName(name), metadata: [])
        } catch let error as BlobError where error.code == .containerAlreadyExists {
            return
        }
    }

    private func createContainer(_ context: Context, _ name: ContainerName) async throws -> BlobResponse {
        if let access = context.headers["x-ms-blob-public-access"], !access.isEmpty { throw BlobError(.publicAccessNotPermitted) }
        let record = try await store.createContainer(context.account, name, metadata: try Metadata.parse(context.headers))
        return BlobResponse(status: 201, headers: Self.versionHeaders(etag: record.etag, lastModified: record.lastModified))
    }

    private func containerProperties(_ context: Context, _ name: ContainerName) async throws -> BlobResponse {
        let record = try await store.container(context.account, name)
        if context.headers["x-ms-lease-id"] != nil { throw BlobError(.leaseNotPresentWithContainerOperation) }
        return BlobResponse(
            status: 200,
            headers: Self.versionHeaders(etag: record.etag, lastModified: record.lastModified) + Metadata.headers(record.metadata) + [
                ("x-ms-lease-status", "unlocked"), ("x-ms-lease-state", "available"), ("x-ms-has-immutability-policy", "false"),
                ("x-ms-has-legal-hold", "false"), ("x-ms-default-encryption-scope", "$account-encryption-key"),
                ("x-ms-deny-encryption-scope-override", "false"),
            ])
    }

    private func listContainers(_ context: Context) async throws -> BlobResponse {
        let (prefix, marker, maxResults) = (context.query["prefix"] ?? "", context.query["marker"], try Self.maxResults(context.query))
        let page = try await store.listContainers(context.account, prefix: prefix, marker: try ListMarker.decode(marker), maxResults: maxResults)
        let body = Listings.containers(
            page,
            request: .init(
                endpoint: context.endpoint, prefix: context.query["prefix"], marker: marker,
                maxResults: context.query["maxresults"].map { _ in maxResults },
                includeMetadata: try Self.includes(context.query, allowed: ["metadata", "deleted", "system"]).contains("metadata")),
            nextMarker: page.nextMarker.map(ListMarker.encode))
        return BlobResponse(status: 200, headers: [("Content-Type", "application/xml")], body: .bytes(body))
    }

    private func listBlobs(_ context: Context, _ container: ContainerName) async throws -> BlobResponse {
        let includes = try Self.includes(
            context.query,
            allowed: [
                "metadata", "uncommittedblobs", "snapshots", "copy", "deleted", "tags", "versions", "immutabilitypolicy", "legalhold",
                "deletedwithversions", "permissions",
            ])
        let (prefix, marker, delimiter) = (context.query["prefix"] ?? "", context.query["marker"], context.query["delimiter"])
        let maxResults = try Self.maxResults(context.query)
        let page = try await store.listBlobs(
            context.account, container, prefix: prefix, delimiter: delimiter, marker: try ListMarker.decode(marker), maxResults: maxResults,
            includeUncommitted: includes.contains("uncommittedblobs"))
        let body = Listings.blobs(
            page,
            request: .init(
                endpoint: context.endpoint, prefix: context.query["prefix"], marker: marker,
                maxResults: context.query["maxresults"].map { _ in maxResults },
                includeMetadata: includes.contains("metadata")),
            container: container.value, delimiter: delimiter, nextMarker: page.nextMarker.map(ListMarker.encode))
        return BlobResponse(status: 200, headers: [("Content-Type", "application/xml")], body: .bytes(body))
    }

    static func maxResults(_ query: QueryParameters) throws(BlobError) -> Int {
        guard let text = query["maxresults"] else { return maximumListResults }
        guard let value = Int(text) else { throw BlobError.invalidQueryParameter("maxresults", text, reason: "Not an integer.") }
        guard value >= 1 else {
            throw BlobError(.outOfRangeQueryParameterValue, details: [("QueryParameterName", "maxresults"), ("QueryParameterValue", text)])
        }
        return min(value, maximumListResults)
    }

    static func includes(_ query: QueryParameters, allowed: Set<String>) throws(BlobError) -> Set<String> {
        let values = Set(query.pairs.filter { $0.name == "include" }.flatMap { $0.value.split(separator: ",").map(String.init) })
        if let unknown = values.first(where: { !allowed.contains($0) }) {
            throw BlobError.invalidQueryParameter("include", unknown, reason: "Not a value of include.")
        }
        return values
    }

    // MARK: Blobs

    private func blobOperation(_ operation: BlobOperation, _ context: Context, _ container: ContainerName, _ name: BlobName) async throws
        -> BlobResponse
    {
        let headers = context.headers
        let body = context.request.body
        switch operation {
        case .putBlob:
            guard let type = headers["x-ms-blob-type"] else { throw BlobError.missingHeader("x-ms-blob-type") }
            guard type == "BlockBlob" else { throw BlobError.invalidHeader("x-ms-blob-type", type) }
            let md5 = try Self.verifiedMD5(of: body, headers: headers)
            var properties = try BlobProperties(headers, fallBackOnContentHeaders: true)
            properties.contentMD5 = properties.contentMD5 ?? Base64.standardEncoded(md5)
            properties.contentType = properties.contentType ?? "application/octet-stream"
            let record = try await store.putBlob(
                context.account, container, name, body: body, properties: properties, metadata: try Metadata.parse(headers),
                conditions: Conditions(headers), access: context.access)
            return BlobResponse(
                status: 201,
                headers: Self.versionHeaders(etag: record.etag, lastModified: record.lastModified) + [
                    ("Content-MD5", Base64.standardEncoded(md5)), ("x-ms-request-server-encrypted", "true"),
                ])
        case .putBlock:
            guard let blockId = context.query["blockid"] else {
                throw BlobError(.missingRequiredQueryParameter, details: [("QueryParameterName", "blockid")])
            }
            let md5 = try Self.verifiedMD5(of: body, headers: headers)
            try await store.putBlock(context.account, container, name, blockId: blockId, body: body, access: context.access)
            return BlobResponse(status: 201, headers: [("Content-MD5", Base64.standardEncoded(md5)), ("x-ms-request-server-encrypted", "true")])
        case .putBlockList:
            _ = try Self.verifiedMD5(of: body, headers: headers)
            var properties = try BlobProperties(headers, fallBackOnContentHeaders: false)
            properties.contentType = properties.contentType ?? "application/octet-stream"
            let record = try await store.putBlockList(
                context.account, container, name, blocks: try Self.blockList(body), properties: properties, metadata: try Metadata.parse(headers),
                conditions: Conditions(headers), access: context.access)
            return BlobResponse(
                status: 201,
                headers: Self.versionHeaders(etag: record.etag, lastModified: record.lastModified) + [("x-ms-request-server-encrypted", "true")])
        case .getBlockList:
            let type = context.query["blocklisttype"] ?? "committed"
            guard ["committed", "uncommitted", "all"].contains(type) else {
                throw BlobError.invalidQueryParameter("blocklisttype", type, reason: "Use committed, uncommitted or all.")
            }
            let (record, staged) = try await store.blockList(context.account, container, name)
            let xml = Listings.blockList(
                committed: type == "uncommitted" ? nil : record.committed ? record.blocks : [], uncommitted: type == "committed" ? nil : staged)
            var answer = [("Content-Type", "application/xml"), ("x-ms-blob-content-length", String(record.length))]
            if record.committed { answer += Self.versionHeaders(etag: record.etag, lastModified: record.lastModified) }
            return BlobResponse(status: 200, headers: answer, body: .bytes(xml))
        case .getBlob, .getBlobProperties:
            return try await read(operation, context, container, name)
        case .deleteBlob:
            try await store.deleteBlob(context.account, container, name, conditions: Conditions(headers))
            return BlobResponse(status: 202, headers: [("x-ms-delete-type-permanent", "true")])
        case .setBlobMetadata:
            let metadata = try Metadata.parse(headers)
            let record = try await store.updateBlob(context.account, container, name, conditions: Conditions(headers)) { $0.metadata = metadata }
            return BlobResponse(
                status: 200,
                headers: Self.versionHeaders(etag: record.etag, lastModified: record.lastModified) + [("x-ms-request-server-encrypted", "true")])
        case .setBlobProperties:
            let properties = try BlobProperties(headers, fallBackOnContentHeaders: false)
            let record = try await store.updateBlob(context.account, container, name, conditions: Conditions(headers)) { $0.properties = properties }
            return BlobResponse(status: 200, headers: Self.versionHeaders(etag: record.etag, lastModified: record.lastModified))
        default:
            throw BlobError(.unsupportedHttpVerb)
        }
    }

    /// Get Blob (the content, whole or a range) and Get Blob Properties (its headers only).
    private func read(_ operation: BlobOperation, _ context: Context, _ container: ContainerName, _ name: BlobName) async throws -> BlobResponse {
        let record = try await store.blob(context.account, container, name)
        let validators = Self.versionHeaders(etag: record.etag, lastModified: record.lastModified)
        if try Conditions(context.headers).checkRead(etag: record.etag, lastModified: record.lastModified, lease: .leaseNotPresentWithBlobOperation) {
            return BlobResponse(status: 304, headers: validators)
        }
        var headers = validators + Self.contentHeaders(record, overrides: context.credential)
        headers += [
            ("x-ms-creation-time", StorageDate.rfc1123(record.created)), ("x-ms-blob-type", "BlockBlob"), ("x-ms-lease-status", "unlocked"),
            ("x-ms-lease-state", "available"), ("x-ms-server-encrypted", "true"), ("Accept-Ranges", "bytes"),
        ]
        headers += Metadata.headers(record.metadata)
        let length = record.length
        guard operation == .getBlob else {
            if let md5 = record.properties.contentMD5 { headers.append(("Content-MD5", md5)) }
            headers += [("Content-Length", String(length)), ("x-ms-access-tier", "Hot"), ("x-ms-access-tier-inferred", "true")]
            return BlobResponse(status: 200, headers: headers)
        }
        guard let range = try ByteRange.parse(context.headers) else {
            if let md5 = record.properties.contentMD5 { headers.append(("Content-MD5", md5)) }
            return BlobResponse(status: 200, headers: headers, body: .content(store.content(context.account, container, record, range: 0..<length)))
        }
        guard let bytes = range.clamped(to: length) else { throw BlobError(.invalidRange) }
        headers.append(("Content-Range", "bytes \(bytes.lowerBound)-\(bytes.upperBound - 1)/\(length)"))
        if let md5 = record.properties.contentMD5 { headers.append(("x-ms-blob-content-md5", md5)) }
        let content = store.content(context.account, container, record, range: bytes)
        guard context.headers["x-ms-range-get-content-md5"]?.lowercased() == "true" else {
            return BlobResponse(status: 206, headers: headers, body: .content(content))
        }
        guard bytes.count <= Self.maximumRangeForMD5 else { throw BlobError.outOfRange("x-ms-range-get-content-md5 needs a range of 4 MiB or less") }
        let data = try await BlobBody.content(content).collect()
        headers.append(("Content-MD5", Base64.standardEncoded(Digest.md5(data))))
        return BlobResponse(status: 206, headers: headers, body: .bytes(data))
    }

    /// The blob's HTTP properties as headers, replaced by a service SAS's `rscc` … `rsct` where it has them.
    static func contentHeaders(_ record: BlobRecord, overrides credential: Credential) -> [(name: String, value: String)] {
        var properties = record.properties
        if case .serviceSAS(_, _, let overrides) = credential {
            properties.cacheControl = overrides.cacheControl ?? properties.cacheControl
            properties.contentDisposition = overrides.contentDisposition ?? properties.contentDisposition
            properties.contentEncoding = overrides.contentEncoding ?? properties.contentEncoding
            properties.contentLanguage = overrides.contentLanguage ?? properties.contentLanguage
            properties.contentType = overrides.contentType ?? properties.contentType
        }
        let fields: [(String, String?)] = [
            ("Content-Type", properties.contentType ?? "application/octet-stream"), ("Content-Encoding", properties.contentEncoding),
            ("Content-Language", properties.contentLanguage), ("Content-Disposition", properties.contentDisposition),
            ("Cache-Control", properties.cacheControl),
        ]
        return fields.compactMap { name, value in value.map { (name, $0) } }
    }

    static func versionHeaders(etag: String, lastModified: Int64) -> [(name: String, value: String)] {
        [("ETag", "\"\(etag)\""), ("Last-Modified", StorageDate.rfc1123(lastModified))]
    }

    /// The body's MD5, checked against `Content-MD5` when the request has one.
    static func verifiedMD5(of body: [UInt8], headers: BlobHeaders) throws(BlobError) -> [UInt8] {
        let md5 = Digest.md5(body)
        if let given = headers["Content-MD5"] {
            guard let expected = Base64.decode(given), expected.count == 16 else { throw BlobError.invalidHeader("Content-MD5", given) }
            guard expected == md5 else {
                throw BlobError(.md5Mismatch, details: [("UserSpecifiedMd5", given), ("ServerCalculatedMd5", Base64.standardEncoded(md5))])
            }
        }
        return md5
    }

    /// The entries of a Put Block List body (`<BlockList><Latest>id</Latest>…</BlockList>`).
    static func blockList(_ body: [UInt8]) throws(BlobError) -> [(BlobStore.BlockSource, String)] {
        guard let root = XMLElement.parse(body), root.name == "BlockList" else { throw BlobError(.invalidXmlDocument) }
        return try root.children.map { element throws(BlobError) in
            guard let source = BlobStore.BlockSource(rawValue: element.name) else { throw BlobError(.invalidXmlDocument) }
            return (source, element.text.trimmingCharacters(in: " \t\r\n"))
        }
    }
}
