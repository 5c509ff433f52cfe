import CoffreCrypto
import CoffreModel

/// What a request's credential proves, once verified: the account key itself (Shared Key), or a shared access signature
/// and what it grants.
enum Credential: Sendable, Equatable {
    case sharedKey
    case accountSAS(services: String, resourceTypes: String, permissions: String)
    /// `resource` is `c` (the container and its blobs) or `b` (one blob).
    case serviceSAS(resource: String, permissions: String, responseHeaders: SharedAccessSignature.ResponseHeaders)
}

/// Verifies a request's Shared Key signature or SAS token against the account's two current keys, as Azure Storage does.
/// Signatures are compared in constant time against both keys; a key regenerated is gone from the record, so what it
/// signed no longer verifies.
struct BlobAuthenticator: Sendable {
    /// Shared Key request dates are checked on this clock.
    let clock: any WallClock
    /// SAS start and expiry are checked on this one (time travel's, in development mode).
    let signatureClock: any WallClock

    /// How far a Shared Key request's date may be from the server's clock (Azure's 15 minutes).
    static let allowedDateSkew: Int64 = 15 * 60
    static let accountPermissionLetters = "rwdxylacuptfi"
    /// Service SAS permissions must come in this order, each at most once (Azure refuses `wr`).
    static let servicePermissionOrder = "racwdxyltfmeopi"

    func authenticate(_ request: BlobRequest, target: BlobTarget, query: QueryParameters, account: StorageAccountRecord?) throws(BlobError)
        -> Credential
    {
        let authorization = request.headers["Authorization"]
        let sas = SASFields(query: query)
        guard authorization != nil || sas.has("sig") else { throw BlobError(.noAuthenticationInformation) }
        guard let account else {
            throw BlobError.authenticationFailed("The storage account \(String(request.account.prefix(64))) does not exist on this server.")
        }
        if let authorization { return try sharedKey(authorization, request: request, query: query, account: account) }
        return try sharedAccessSignature(sas, request: request, target: target, account: account)
    }

    // MARK: Shared Key

    private func sharedKey(_ authorization: String, request: BlobRequest, query: QueryParameters, account: StorageAccountRecord) throws(BlobError)
        -> Credential
    {
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0] == "SharedKey" else {
            throw BlobError.authenticationFailed(
                "The authorization scheme \(parts.first.map { String($0.prefix(32)) } ?? "") is not supported: Coffre's Blob service accepts "
                    + "Shared Key (SharedKey) and shared access signatures.")
        }
        let credential = parts[1].split(separator: ":", maxSplits: 1)
        guard credential.count == 2, let signature = Base64.decode(credential[1]), signature.count == 32 else {
            throw BlobError(.invalidAuthenticationInfo)
        }
        guard credential[0] == account.name.value else {
            throw BlobError.authenticationFailed("The account in the Authorization header is not the account of the request's host.")
        }
        guard let dateHeader = request.headers["x-ms-date"] ?? request.headers["Date"] else {
            throw BlobError.authenticationFailed("The request has neither an x-ms-date nor a Date header.")
        }
        guard let date = StorageDate.parseRFC1123(dateHeader) else { throw BlobError.invalidHeader("x-ms-date", dateHeader) }
        let now = clock.now
        guard abs(now - date) <= Self.allowedDateSkew else {
            throw BlobError.authenticationFailed(
                "Request date header too old or too far in the future: '\(dateHeader)' (the server's time is \(StorageDate.rfc1123(now))).")
        }
        let stringToSign = SharedKey.stringToSign(
            method: request.method, headers: request.headers, account: account.name.value, path: request.path, query: query,
            version: request.headers["x-ms-version"] ?? "2009-09-19")
        guard Self.signedByCurrentKey(stringToSign, signature: signature, account: account) else {
            throw BlobError.authenticationFailed(
                "The MAC signature found in the HTTP request '\(credential[1])' is not the same as any computed signature. Server used "
                    + "following string to sign: '\(stringToSign)'.")
        }
        return .sharedKey
    }

    /// Whether `signature` is the HMAC of `stringToSign` under either current key; both are computed and compared in
    /// constant time whatever the outcome.
    static func signedByCurrentKey(_ stringToSign: String, signature: [UInt8], account: StorageAccountRecord) -> Bool {
        let message = Array(stringToSign.utf8)
        let matches = account.keys.map { ConstantTime.equals(Digest.hmacSHA256(key: $0.bytes, message), signature) }
        return matches.contains(true)
    }

    // MARK: Shared access signatures

    private func sharedAccessSignature(_ sas: SASFields, request: BlobRequest, target: BlobTarget, account: StorageAccountRecord) throws(BlobError)
        -> Credential
    {
        let notWellFormed = BlobError.authenticationFailed("Signature fields not well formed.")
        let version = sas.version
        guard !version.isEmpty else { throw BlobError.authenticationFailed("sv is mandatory. Cannot be empty") }
        guard StorageDate.parseISO8601(version) != nil, version.utf8.count == 10, version >= SharedAccessSignature.oldestVersion else {
            throw notWellFormed
        }
        if sas.has("skoid") {
            throw BlobError.authenticationFailed("User delegation SAS is not supported: Coffre's Blob service issues no user delegation keys.")
        }
        if sas.has("si") {
            throw BlobError.authenticationFailed("The signed identifier \(sas["si"].prefix(64)) names a stored access policy; Coffre keeps none.")
        }
        guard let signature = Base64.decode(sas["sig"]), signature.count == 32, !sas["se"].isEmpty, !sas["sp"].isEmpty else {
            throw notWellFormed
        }
        guard let expiry = StorageDate.parseISO8601(sas["se"]) else { throw notWellFormed }
        let start: Int64?
        if sas.has("st") {
            guard let parsed = StorageDate.parseISO8601(sas["st"]) else { throw notWellFormed }
            start = parsed
        } else {
            start = nil
        }
        if let start, start >= expiry {
            throw BlobError.authenticationFailed(
                "Signed expiry time [\(StorageDate.rfc1123(expiry))] must be after signed start time [\(StorageDate.rfc1123(start))]")
        }
        guard ["", "https", "https,http"].contains(sas["spr"]) else { throw notWellFormed }
        let addresses = try IPv4Range(sas["sip"], error: notWellFormed)

        let credential: Credential
        let stringToSign: String
        if sas.has("sr") {
            let permissions = sas["sp"]
            guard Self.isOrdered(permissions, by: Self.servicePermissionOrder) else { throw notWellFormed }
            let path: String
            switch (sas["sr"], target.container, target.blob) {
            case ("c", let container?, _): path = container
            case ("b", let container?, let blob?): path = container + "/" + blob
            case ("c", nil, _), ("b", _, _):
                throw BlobError.authenticationFailed("The specified signed resource is not allowed for the this resource level")
            default:
                throw BlobError.authenticationFailed("The signed resource \(sas["sr"].prefix(8)) is not supported: use a container or blob SAS.")
            }
            stringToSign = sas.serviceStringToSign(canonicalPath: path, account: account.name.value)
            credential = .serviceSAS(
                resource: sas["sr"], permissions: permissions,
                responseHeaders: .init(
                    cacheControl: sas.has("rscc") ? sas["rscc"] : nil, contentDisposition: sas.has("rscd") ? sas["rscd"] : nil,
                    contentEncoding: sas.has("rsce") ? sas["rsce"] : nil, contentLanguage: sas.has("rscl") ? sas["rscl"] : nil,
                    contentType: sas.has("rsct") ? sas["rsct"] : nil))
        } else {
            guard version >= "2015-04-05", Self.isSubset(sas["ss"], of: "bqtf"), Self.isSubset(sas["srt"], of: "sco"),
                Self.isSubset(sas["sp"], of: Self.accountPermissionLetters)
            else { throw notWellFormed }
            stringToSign = sas.accountStringToSign(account: account.name.value)
            credential = .accountSAS(services: sas["ss"], resourceTypes: sas["srt"], permissions: sas["sp"])
        }
        guard Self.signedByCurrentKey(stringToSign, signature: signature, account: account) else {
            throw BlobError.authenticationFailed("Signature did not match. String to sign used was \(stringToSign)")
        }
        let now = signatureClock.now
        guard start.map({ now >= $0 }) ?? true, now < expiry else {
            throw BlobError.authenticationFailed(
                "Signature not valid in the specified time frame: Start [\(start.map(StorageDate.rfc1123) ?? "")] - Expiry "
                    + "[\(StorageDate.rfc1123(expiry))] - Current [\(StorageDate.rfc1123(now))]")
        }
        if sas["spr"] == "https" && !request.secure { throw BlobError(.authorizationProtocolMismatch) }
        if let addresses, !addresses.contains(request.clientAddress) { throw BlobError(.authorizationSourceIPMismatch) }
        return credential
    }

    /// Letters of `order`, each at most once, in its order, at least one.
    static func isOrdered(_ letters: String, by order: String) -> Bool {
        var rest = Substring(order)
        for letter in letters {
            guard let index = rest.firstIndex(of: letter) else { return false }
            rest = rest[rest.index(after: index)...]
        }
        return !letters.isEmpty
    }

    /// At least one letter, each one of `allowed` (account SAS fields may come in any order).
    static func isSubset(_ letters: String, of allowed: String) -> Bool { !letters.isEmpty && letters.allSatisfy(allowed.contains) }
}

/// A SAS `sip`: one IPv4 address or an inclusive range `a.b.c.d-e.f.g.h`.
struct IPv4Range: Sendable {
    let lower: UInt32
    let upper: UInt32

    /// `nil` when `text` is empty (no restriction); throws `error` when it is malformed.
    init?(_ text: String, error: BlobError) throws(BlobError) {
        guard !text.isEmpty else { return nil }
        let bounds = text.split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(bounds.count), let lower = Self.address(bounds[0]), let upper = Self.address(bounds[bounds.count - 1]), lower <= upper
        else { throw error }
        self.lower = lower
        self.upper = upper
    }

    /// Whether the client's address is in the range (an IPv4-mapped IPv6 address counts as IPv4; an unknown address never).
    func contains(_ client: String?) -> Bool {
        guard var client else { return false }
        if client.lowercased().hasPrefix("::ffff:") { client = String(client.dropFirst(7)) }
        guard let address = Self.address(Substring(client)) else { return false }
        return (lower...upper).contains(address)
    }

    static func address(_ text: Substring) -> UInt32? {
        let octets = text.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var value: UInt32 = 0
        for octet in octets {
            guard (1...3).contains(octet.count), let byte = UInt8(octet) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
    }
}
