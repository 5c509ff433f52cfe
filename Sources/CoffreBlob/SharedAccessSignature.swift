import CoffreCrypto
import CoffreModel

/// Shared access signatures of the Blob service, account SAS and service SAS (container `sr=c`, blob `sr=b`), signed
/// with an account key: the string-to-sign of every signed version (`sv`) Azure Storage accepts, and tokens written
/// exactly as `azure-storage-blob` writes them (`generate_account_sas`, `generate_container_sas`, `generate_blob_sas`).
///
/// Account SAS (from 2015-04-05): `account \n sp \n ss \n srt \n st \n se \n sip \n spr \n sv \n`, then `ses \n` from
/// 2020-12-06. Service SAS: `sp \n st \n se \n resource \n si`, then `sip \n spr` (2015-04-05), `sv`, then `sr \n
/// snapshot time` (2018-11-09), `ses` (2020-12-06), then `rscc \n rscd \n rsce \n rscl \n rsct` (2013-08-15); the
/// resource is `/blob/{account}/{container}[/{blob}]` from 2015-02-21 and `/{account}/…` before.
public enum SharedAccessSignature {
    /// The signed version `azure-storage-blob` 12.31.1 writes (its newest service version).
    public static let currentVersion = "2026-10-06"
    /// The oldest signed version accepted.
    static let oldestVersion = "2012-02-12"

    /// Response headers a service SAS makes Get Blob and Get Blob Properties answer with (`rscc` … `rsct`).
    public struct ResponseHeaders: Sendable, Equatable {
        public var cacheControl: String?
        public var contentDisposition: String?
        public var contentEncoding: String?
        public var contentLanguage: String?
        public var contentType: String?

        public init(
            cacheControl: String? = nil, contentDisposition: String? = nil, contentEncoding: String? = nil, contentLanguage: String? = nil,
            contentType: String? = nil
        ) {
            self.cacheControl = cacheControl
            self.contentDisposition = contentDisposition
            self.contentEncoding = contentEncoding
            self.contentLanguage = contentLanguage
            self.contentType = contentType
        }
    }

    /// The time format of SAS fields (`2026-01-01T00:00:00Z`), from seconds since 1970.
    public static func time(_ seconds: Int64) -> String { StorageDate.iso8601(seconds) }

    /// An account SAS token, as `generate_account_sas` writes it for the same inputs.
    public static func account(
        account: String, key: [UInt8], services: String, resourceTypes: String, permissions: String, expiry: String, start: String? = nil,
        ip: String? = nil, protocol: String? = nil, encryptionScope: String? = nil, version: String = currentVersion
    ) -> String {
        var fields = SASFields.base(permissions: permissions, start: start, expiry: expiry, ip: ip, protocol: `protocol`, version: version)
        fields.add("ss", services)
        fields.add("srt", resourceTypes)
        fields.add("ses", encryptionScope)
        return fields.signed(fields.accountStringToSign(account: account), key: key)
    }

    /// A container SAS token (`sr=c`), as `generate_container_sas` writes it.
    public static func container(
        account: String, key: [UInt8], container: String, permissions: String, expiry: String, start: String? = nil, ip: String? = nil,
        protocol: String? = nil, responseHeaders: ResponseHeaders = .init(), encryptionScope: String? = nil, version: String = currentVersion
    ) -> String {
        service(
            account: account, key: key, resource: "c", path: container, permissions: permissions, expiry: expiry, start: start, ip: ip,
            protocol: `protocol`, responseHeaders: responseHeaders, encryptionScope: encryptionScope, version: version)
    }

    /// A blob SAS token (`sr=b`), as `generate_blob_sas` writes it.
    public static func blob(
        account: String, key: [UInt8], container: String, blob: String, permissions: String, expiry: String, start: String? = nil,
        ip: String? = nil, protocol: String? = nil, responseHeaders: ResponseHeaders = .init(), encryptionScope: String? = nil,
        version: String = currentVersion
    ) -> String {
        service(
            account: account, key: key, resource: "b", path: container + "/" + blob, permissions: permissions, expiry: expiry, start: start,
            ip: ip, protocol: `protocol`, responseHeaders: responseHeaders, encryptionScope: encryptionScope, version: version)
    }

    private static func service(
        account: String, key: [UInt8], resource: String, path: String, permissions: String, expiry: String, start: String?, ip: String?,
        protocol: String?, responseHeaders: ResponseHeaders, encryptionScope: String?, version: String
    ) -> String {
        var fields = SASFields.base(permissions: permissions, start: start, expiry: expiry, ip: ip, protocol: `protocol`, version: version)
        fields.add("sr", resource)
        fields.add("rscc", responseHeaders.cacheControl)
        fields.add("rscd", responseHeaders.contentDisposition)
        fields.add("rsce", responseHeaders.contentEncoding)
        fields.add("rscl", responseHeaders.contentLanguage)
        fields.add("rsct", responseHeaders.contentType)
        fields.add("ses", encryptionScope)
        return fields.signed(fields.serviceStringToSign(canonicalPath: path, account: account), key: key)
    }
}

/// The fields of a SAS token by query name, decoded, in the order they were written.
struct SASFields: Sendable {
    private(set) var pairs: [(name: String, value: String)] = []

    static func base(permissions: String, start: String?, expiry: String, ip: String?, protocol: String?, version: String) -> SASFields {
        var fields = SASFields()
        fields.add("st", start)
        fields.add("se", expiry)
        fields.add("sp", permissions)
        fields.add("sip", ip)
        fields.add("spr", `protocol`)
        fields.add("sv", version)
        return fields
    }

    init() {}

    /// The SAS fields of a request's query (the parameters Azure Storage signs or reads).
    init(query: QueryParameters) {
        pairs = query.pairs.filter { Self.names.contains($0.name) }
    }

    static let names: Set<String> = [
        "sv", "ss", "srt", "sr", "sp", "st", "se", "sip", "spr", "si", "ses", "sig", "rscc", "rscd", "rsce", "rscl", "rsct", "skoid", "sktid",
        "skt", "ske", "sks", "skv", "sdd", "saoid", "suoid", "scid", "skdutid", "sduoid", "srh", "srq",
    ]

    /// Adds a field when it has a value (as the official clients skip empty ones).
    mutating func add(_ name: String, _ value: String?) {
        if let value, !value.isEmpty { pairs.append((name, value)) }
    }

    /// The field's value, or the empty string (what the string-to-sign holds for an absent field).
    subscript(_ name: String) -> String { pairs.first { $0.name == name }?.value ?? "" }

    func has(_ name: String) -> Bool { pairs.contains { $0.name == name } }

    var version: String { self["sv"] }

    func accountStringToSign(account: String) -> String {
        var lines = [account, self["sp"], self["ss"], self["srt"], self["st"], self["se"], self["sip"], self["spr"], version]
        if version >= "2020-12-06" { lines.append(self["ses"]) }
        return lines.joined(separator: "\n") + "\n"
    }

    /// - Parameters:
    ///   - canonicalPath: `{container}` or `{container}/{blob}`, decoded.
    ///   - snapshotTime: the signed snapshot or version time (`sr=bs`/`bv`; always empty here).
    func serviceStringToSign(canonicalPath: String, account: String, snapshotTime: String = "") -> String {
        let resource = (version >= "2015-02-21" ? "/blob/" : "/") + account + "/" + canonicalPath
        var lines = [self["sp"], self["st"], self["se"], resource, self["si"]]
        if version >= "2015-04-05" { lines += [self["sip"], self["spr"]] }
        lines.append(version)
        if version >= "2018-11-09" { lines += [self["sr"], snapshotTime] }
        if version >= "2020-12-06" { lines.append(self["ses"]) }
        if version >= "2013-08-15" { lines += [self["rscc"], self["rscd"], self["rsce"], self["rscl"], self["rsct"]] }
        return lines.joined(separator: "\n")
    }

    /// The token: the fields in order, then `sig`, each value percent-encoded as Python's `quote` does.
    func signed(_ stringToSign: String, key: [UInt8]) -> String {
        let signature = Base64.standardEncoded(Digest.hmacSHA256(key: key, Array(stringToSign.utf8)))
        return (pairs + [("sig", signature)]).map { "\($0.name)=\(PercentEncoding.encode($0.value, keepingSlash: true))" }.joined(separator: "&")
    }
}
