import CoffreModel

/// One request to the Blob service, as the HTTP front hands it over: nothing is decoded yet, because Shared Key signs
/// the path as the client encoded it.
public struct BlobRequest: Sendable {
    public var method: String
    /// The account, the first label of the host (`{account}.blob.{zone}`).
    public var account: String
    /// The request target's path as received, percent-encoded (`/container/dir/a%20b.txt`).
    public var path: String
    /// The query string as received, without `?`.
    public var query: String
    public var headers: BlobHeaders
    public var body: [UInt8]
    /// Whether the request came over TLS (SAS `spr=https` requires it).
    public var secure: Bool
    /// The client's IP address (SAS `sip` checks it).
    public var clientAddress: String?
    /// Set by a front that stopped reading a body longer than `BlobService.maximumRequestBody` (the answer is 413).
    public var bodyExceedsLimit = false
    /// The id the front gives the request (`x-ms-request-id`, and the `RequestId:` of error messages); a fresh one when nil.
    public var requestId: String?

    public init(
        method: String, account: String, path: String, query: String = "", headers: BlobHeaders = BlobHeaders(), body: [UInt8] = [],
        secure: Bool = true, clientAddress: String? = nil
    ) {
        self.method = method
        self.account = account
        self.path = path
        self.query = query
        self.headers = headers
        self.body = body
        self.secure = secure
        self.clientAddress = clientAddress
    }
}

/// HTTP headers, in arrival order, looked up without regard to case; a name may repeat.
public struct BlobHeaders: Sendable, ExpressibleByDictionaryLiteral {
    public private(set) var fields: [(name: String, value: String)]

    public init(_ fields: [(name: String, value: String)] = []) { self.fields = fields }

    public init(dictionaryLiteral elements: (String, String)...) { self.fields = elements.map { ($0.0, $0.1) } }

    /// The value of `name`, several values joined by commas; `nil` when absent.
    public subscript(_ name: String) -> String? {
        let values = fields.filter { $0.name.lowercased() == name.lowercased() }.map(\.value)
        return values.isEmpty ? nil : values.joined(separator: ",")
    }

    public mutating func add(_ name: String, _ value: String) { fields.append((name, value)) }

    /// Every field, names lower-cased, values of a repeated name joined by commas, in first-arrival order.
    var merged: [(name: String, value: String)] {
        var order: [String] = []
        var values: [String: [String]] = [:]
        for field in fields {
            let name = field.name.lowercased()
            if values[name] == nil { order.append(name) }
            values[name, default: []].append(field.value.trimmingCharacters(in: " \t"))
        }
        return order.map { ($0, values[$0]!.joined(separator: ",")) }
    }
}

/// The answer to a `BlobRequest`: status, headers and body, for the HTTP front to write as they are.
public struct BlobResponse: Sendable {
    public var status: Int
    public var headers: [(name: String, value: String)]
    public var body: BlobBody
    /// The operation, as Azure Storage's logs name it (`PutBlob`), when the request got as far as naming one.
    public var operation: String?

    public init(status: Int, headers: [(name: String, value: String)] = [], body: BlobBody = .bytes([])) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? { headers.first { $0.name.lowercased() == name.lowercased() }?.value }
}

/// A response body: bytes already in memory, or a blob's content read from storage chunk by chunk as it is sent.
public enum BlobBody: Sendable {
    case bytes([UInt8])
    case content(BlobContent)

    public var length: Int {
        switch self {
        case .bytes(let bytes): bytes.count
        case .content(let content): content.length
        }
    }

    /// The whole body in memory (tests, the backup client, small ranges).
    public func collect() async throws -> [UInt8] {
        switch self {
        case .bytes(let bytes): return bytes
        case .content(let content):
            var bytes: [UInt8] = []
            bytes.reserveCapacity(content.length)
            for try await chunk in content { bytes += chunk }
            return bytes
        }
    }
}

/// A query string's parameters, percent-decoded (`+` is a space, as in forms), in order.
struct QueryParameters: Sendable {
    var pairs: [(name: String, value: String)]

    init(_ query: String) throws(BlobError) {
        pairs = []
        for part in query.split(separator: "&", omittingEmptySubsequences: true) {
            let pieces = part.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard let name = PercentEncoding.decode(String(pieces[0]), plusIsSpace: true),
                let value = PercentEncoding.decode(pieces.count > 1 ? String(pieces[1]) : "", plusIsSpace: true)
            else {
                throw BlobError.invalidQueryParameter(String(pieces[0]), String(part), reason: "The query string is not valid percent-encoded UTF-8.")
            }
            pairs.append((name, value))
        }
    }

    /// The value of `name` (case-sensitive, as the service reads its parameters); the first when repeated.
    subscript(_ name: String) -> String? { pairs.first { $0.name == name }?.value }
}
