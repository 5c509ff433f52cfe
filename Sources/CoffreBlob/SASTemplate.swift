import CoffreModel

/// The template of a Key Vault SAS definition (`templateUri`): a SAS token signed with any key, whose signed fields
/// every token made from it keeps, but for its expiry (set from the definition's validity period) and its signature
/// (made with the storage account's active key).
///
/// An account SAS template is the token itself (`sv=…&ss=…&srt=…&sp=…`, with or without a leading `?` or a service
/// URL before it). A service SAS template is the URL of the container (`sr=c`) or blob (`sr=b`) with its token, as
/// `az keyvault storage sas-definition create` documents; only the Blob service's resources are served. Tokens are
/// written as `azure-storage-blob` writes them for the same fields and key (`generate_account_sas`,
/// `generate_container_sas`, `generate_blob_sas`), in the template's signed version.
public struct SASTemplate: Sendable, Equatable {
    public enum Kind: String, Sendable, Codable, CaseIterable {
        case account, service
    }

    public let kind: Kind
    let version: String
    let permissions: String
    let start: String?
    let ip: String?
    let `protocol`: String?
    let encryptionScope: String?
    /// Account SAS: the signed services and resource types.
    let services: String?
    let resourceTypes: String?
    /// Service SAS: the container, and the blob for `sr=b` (decoded).
    let container: String?
    let blob: String?
    let responseHeaders: SharedAccessSignature.ResponseHeaders

    /// Fields a template may carry beyond the common ones, by kind.
    static let accountFields: Set<String> = ["ss", "srt"]
    static let serviceFields: Set<String> = ["sr", "rscc", "rscd", "rsce", "rscl", "rsct"]
    static let commonFields: Set<String> = ["sv", "sp", "st", "se", "sip", "spr", "ses", "sig"]

    /// Reads and checks a template; the errors name what is wrong (400 `BadParameter`).
    public init(_ templateURI: String, kind: Kind) throws {
        self.kind = kind
        let (url, query) = Self.split(templateURI)
        let fields: QueryParameters
        do {
            fields = try QueryParameters(query)
        } catch {
            throw Self.invalid("its query is not valid percent-encoded UTF-8")
        }
        let allowed = Self.commonFields.union(kind == .account ? Self.accountFields : Self.serviceFields)
        if let unknown = fields.pairs.first(where: { !allowed.contains($0.name) }) {
            throw Self.invalid(
                "the field \(String(unknown.name.prefix(16))) is not one of a \(kind.rawValue) SAS Coffre signs with an account key "
                    + "(\(allowed.sorted().joined(separator: ", ")))")
        }
        func field(_ name: String) -> String? { fields[name].flatMap { $0.isEmpty ? nil : $0 } }
        guard let version = field("sv"), version.utf8.count == 10, StorageDate.parseISO8601(version) != nil,
            version >= (kind == .account ? "2015-04-05" : SharedAccessSignature.oldestVersion)
        else { throw Self.invalid("it needs a signed version (sv) Azure Storage accepts for a \(kind.rawValue) SAS") }
        guard let permissions = field("sp") else { throw Self.invalid("it has no signed permissions (sp)") }
        if let start = field("st"), StorageDate.parseISO8601(start) == nil { throw Self.invalid("its start time (st) is not an ISO 8601 time") }
        guard ["", "https", "https,http"].contains(field("spr") ?? "") else { throw Self.invalid("its protocol (spr) is not https or https,http") }
        self.version = version
        self.permissions = permissions
        start = field("st")
        ip = field("sip")
        self.protocol = field("spr")
        encryptionScope = field("ses")
        responseHeaders = .init(
            cacheControl: field("rscc"), contentDisposition: field("rscd"), contentEncoding: field("rsce"), contentLanguage: field("rscl"),
            contentType: field("rsct"))
        switch kind {
        case .account:
            guard let services = field("ss"), BlobAuthenticator.isSubset(services, of: "bqtf"), let resourceTypes = field("srt"),
                BlobAuthenticator.isSubset(resourceTypes, of: "sco"),
                BlobAuthenticator.isSubset(permissions, of: BlobAuthenticator.accountPermissionLetters)
            else { throw Self.invalid("an account SAS needs services (ss) of bqtf, resource types (srt) of sco and account permissions (sp)") }
            (self.services, self.resourceTypes, container, blob) = (services, resourceTypes, nil, nil)
        case .service:
            guard BlobAuthenticator.isOrdered(permissions, by: BlobAuthenticator.servicePermissionOrder) else {
                throw Self.invalid("its permissions (sp) are not Blob service permissions in the order \(BlobAuthenticator.servicePermissionOrder)")
            }
            guard let url else {
                throw Self.invalid("a service SAS template is the URL of the container or blob followed by its token (https://…/container?sv=…)")
            }
            let path = url.path.split(separator: "/", omittingEmptySubsequences: false).dropFirst().map {
                PercentEncoding.decodeLeniently($0, plusIsSpace: false)
            }
            switch (field("sr"), path.count) {
            case ("c", 1) where !path[0].isEmpty: (container, blob) = (path[0], nil)
            case ("b", 2...) where !path[0].isEmpty && !path[1...].joined(separator: "/").isEmpty:
                (container, blob) = (path[0], path[1...].joined(separator: "/"))
            default:
                throw Self.invalid("a service SAS template is a container URL with sr=c or a blob URL with sr=b")
            }
            (services, resourceTypes) = (nil, nil)
        }
    }

    /// A token for `account` signed with `key`, expiring at `expiry` (seconds since 1970).
    public func token(account: String, key: [UInt8], expiry: Int64) -> String {
        let expiry = SharedAccessSignature.time(expiry)
        switch (kind, blob) {
        case (.account, _):
            return SharedAccessSignature.account(
                account: account, key: key, services: services ?? "", resourceTypes: resourceTypes ?? "", permissions: permissions, expiry: expiry,
                start: start, ip: ip, protocol: self.protocol, encryptionScope: encryptionScope, version: version)
        case (.service, nil):
            return SharedAccessSignature.container(
                account: account, key: key, container: container ?? "", permissions: permissions, expiry: expiry, start: start, ip: ip,
                protocol: self.protocol, responseHeaders: responseHeaders, encryptionScope: encryptionScope, version: version)
        case (.service, let blob?):
            return SharedAccessSignature.blob(
                account: account, key: key, container: container ?? "", blob: blob, permissions: permissions, expiry: expiry, start: start,
                ip: ip, protocol: self.protocol, responseHeaders: responseHeaders, encryptionScope: encryptionScope, version: version)
        }
    }

    /// The URL before the token (nil for a bare token) and the token (without `?`).
    static func split(_ template: String) -> (url: BlobURL?, query: String) {
        if let url = BlobURL(template) { return (url, url.query) }
        return (nil, template.hasPrefix("?") ? String(template.dropFirst()) : template)
    }

    static func invalid(_ reason: String) -> CoffreError {
        CoffreError.badParameter("The SAS definition's templateUri is not valid: \(reason).")
    }
}
