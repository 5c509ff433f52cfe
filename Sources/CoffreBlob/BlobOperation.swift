import CoffreModel

/// Where a request points: the account (no container), a container, or a blob in it (names decoded, not yet checked).
struct BlobTarget: Sendable, Equatable {
    var container: String?
    var blob: String?

    /// `/`, `/{container}` or `/{container}/{blob…}`; the blob name is the rest of the path, slashes included.
    init(path: String) throws(BlobError) {
        guard let decoded = PercentEncoding.decode(path, plusIsSpace: false) else { throw BlobError(.invalidUri) }
        let trimmed = decoded.hasPrefix("/") ? String(decoded.dropFirst()) : decoded
        guard !trimmed.isEmpty else { return }
        if let slash = trimmed.firstIndex(of: "/") {
            container = String(trimmed[..<slash])
            let rest = String(trimmed[trimmed.index(after: slash)...])
            blob = rest.isEmpty ? nil : rest
        } else {
            container = trimmed
        }
    }
}

/// The operations of Coffre's Blob service, chosen from the method, the target and `restype`/`comp`.
enum BlobOperation: String, Sendable, CaseIterable {
    case listContainers
    case getAccountInformation
    case createContainer
    case deleteContainer
    case getContainerProperties
    case setContainerMetadata
    case listBlobs
    case putBlob
    case putBlock
    case putBlockList
    case getBlockList
    case getBlob
    case getBlobProperties
    case deleteBlob
    case setBlobMetadata
    case setBlobProperties

    /// The name Azure Storage's logs give the operation (`PutBlob`, `ListContainers`).
    var logName: String {
        switch self {
        case .getAccountInformation: "GetAccountInfo"
        case .listContainers: "ListContainers"
        default: rawValue.prefix(1).uppercased() + rawValue.dropFirst()
        }
    }

    init(method: String, target: BlobTarget, query: QueryParameters) throws(BlobError) {
        let restype = query["restype"]
        let comp = query["comp"]
        let operation: BlobOperation?
        if restype == "account" {
            guard comp == "properties" else { throw BlobError.invalidQueryParameter("comp", comp ?? "", reason: "Expected properties.") }
            operation = ["GET", "HEAD"].contains(method) ? .getAccountInformation : nil
        } else if target.container == nil {
            guard comp == "list" else {
                throw BlobError.invalidQueryParameter("comp", comp ?? "", reason: "Coffre's Blob service lists containers here (comp=list).")
            }
            operation = method == "GET" ? .listContainers : nil
        } else if target.blob == nil {
            guard restype == "container" else {
                throw BlobError.invalidQueryParameter("restype", restype ?? "", reason: "Container operations take restype=container.")
            }
            switch (method, comp) {
            case ("PUT", nil): operation = .createContainer
            case ("DELETE", nil): operation = .deleteContainer
            case ("GET", nil), ("HEAD", nil), ("GET", "metadata"), ("HEAD", "metadata"): operation = .getContainerProperties
            case ("PUT", "metadata"): operation = .setContainerMetadata
            case ("GET", "list"): operation = .listBlobs
            case (_, nil), (_, "metadata"), (_, "list"): operation = nil
            default: throw BlobError.invalidQueryParameter("comp", comp ?? "", reason: "Not a container operation Coffre serves.")
            }
        } else {
            switch (method, comp) {
            case ("PUT", nil): operation = .putBlob
            case ("PUT", "block"): operation = .putBlock
            case ("PUT", "blocklist"): operation = .putBlockList
            case ("GET", "blocklist"): operation = .getBlockList
            case ("GET", nil): operation = .getBlob
            case ("HEAD", nil), ("GET", "metadata"), ("HEAD", "metadata"): operation = .getBlobProperties
            case ("DELETE", nil): operation = .deleteBlob
            case ("PUT", "metadata"): operation = .setBlobMetadata
            case ("PUT", "properties"): operation = .setBlobProperties
            case (_, nil), (_, "block"), (_, "blocklist"), (_, "metadata"), (_, "properties"): operation = nil
            default: throw BlobError.invalidQueryParameter("comp", comp ?? "", reason: "Not a blob operation Coffre serves.")
            }
        }
        guard let operation else { throw BlobError(.unsupportedHttpVerb) }
        self = operation
    }

    /// What a SAS must grant for the operation.
    struct Rule {
        /// The account SAS resource type (`s` service, `c` container, `o` object).
        var resourceType: Character
        /// Any one of these permissions allows it.
        var permissions: String
        /// The service SAS permissions that allow it (any one); `nil`: a service SAS never does.
        var servicePermissions: String?
    }

    var rule: Rule {
        switch self {
        case .listContainers: Rule(resourceType: "s", permissions: "l", servicePermissions: nil)
        case .getAccountInformation: Rule(resourceType: "s", permissions: "rwdlacup", servicePermissions: "r")
        case .createContainer: Rule(resourceType: "c", permissions: "cw", servicePermissions: nil)
        case .deleteContainer: Rule(resourceType: "c", permissions: "d", servicePermissions: nil)
        case .getContainerProperties: Rule(resourceType: "c", permissions: "r", servicePermissions: nil)
        case .setContainerMetadata: Rule(resourceType: "c", permissions: "w", servicePermissions: nil)
        case .listBlobs: Rule(resourceType: "c", permissions: "l", servicePermissions: "l")
        case .putBlob, .putBlock, .putBlockList: Rule(resourceType: "o", permissions: "cw", servicePermissions: "cw")
        case .getBlockList, .getBlob, .getBlobProperties: Rule(resourceType: "o", permissions: "r", servicePermissions: "r")
        case .deleteBlob: Rule(resourceType: "o", permissions: "d", servicePermissions: "d")
        case .setBlobMetadata, .setBlobProperties: Rule(resourceType: "o", permissions: "w", servicePermissions: "w")
        }
    }

    /// What the credential allows of this operation: whether it may replace an existing blob (`c` alone creates only).
    func authorize(_ credential: Credential) throws(BlobError) -> Access {
        let rule = self.rule
        switch credential {
        case .sharedKey:
            return Access(mayOverwrite: true)
        case .accountSAS(let services, let resourceTypes, let permissions):
            guard services.contains("b") else { throw BlobError(.authorizationServiceMismatch) }
            guard resourceTypes.contains(rule.resourceType) else { throw BlobError(.authorizationResourceTypeMismatch) }
            guard permissions.contains(where: rule.permissions.contains) else { throw BlobError(.authorizationPermissionMismatch) }
            return Access(mayOverwrite: permissions.contains("w"))
        case .serviceSAS(_, let permissions, _):
            guard let allowed = rule.servicePermissions else { throw BlobError(.authorizationFailure) }
            guard permissions.contains(where: allowed.contains) else { throw BlobError(.authorizationPermissionMismatch) }
            return Access(mayOverwrite: permissions.contains("w"))
        }
    }
}

/// The outcome of authorising an operation.
struct Access: Sendable, Equatable {
    /// `false` when the credential may create a blob but not replace one (a SAS with `c` and no `w`).
    var mayOverwrite: Bool
}
