import CoffreAuth
import CoffreBlob
import CoffreCore
import CoffreCrypto
import CoffreKeyCustody
import CoffreModel
import CoffreStorage
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import NIOHTTP1

/// The one place where errors become HTTP: status, Key Vault code, inner code and message.
public struct ErrorResponse: Sendable, Equatable {
    public var status: HTTPResponse.Status
    public var code: String
    public var innerCode: String?
    public var message: String
    /// Seconds a client should wait before retrying (429, 503).
    public var retryAfter: Int?
    /// For the server log only: the type of an unexpected error.
    var internalDetail: String?

    public static func from(_ error: any Error) -> ErrorResponse {
        switch error {
        case let error as CoffreError: from(error)
        case let error as StorageError: from(error)
        case let error as ManagedHSMError: from(error)
        case let error as SecurityDomainFailure: ErrorResponse(status: .badRequest, code: "BadParameter", message: error.description)
        case let error as ResourceManagerError: from(error)
        case let error as GraphError: from(error)
        case let error as CustodyFailure: from(error)
        case let error as OAuthError:
            ErrorResponse(status: .init(code: error.status), code: error.code, message: error.description)
        case let error as StorageAccountNotFound: ErrorResponse(status: .notFound, code: "StorageAccountNotFound", message: error.description)
        case let error as ManagedStorageError: from(error)
        case let error as RequestLimitExceeded:
            ErrorResponse(status: .tooManyRequests, code: "Throttled", message: error.description, retryAfter: error.retryAfter)
        case let error as HTTPParserError where error == .headerOverflow:
            ErrorResponse(
                status: .requestHeaderFieldsTooLarge, code: "RequestHeaderFieldsTooLarge",
                message: "The request's header fields are larger than Coffre accepts.")
        case is NIOTooManyBytesError:
            ErrorResponse(status: .contentTooLarge, code: "RequestBodyTooLarge", message: "The request body is larger than this endpoint accepts.")
        case let fault as InjectedFault: from(fault)
        case is AuditUnavailable:
            ErrorResponse(
                status: .serviceUnavailable, code: "AuditLogUnavailable",
                message: "The audit log cannot be written, so Coffre refuses requests until it can.", retryAfter: 5)
        default:
            ErrorResponse(
                status: .internalServerError, code: "InternalServerError",
                message: "Coffre met an unexpected error. The request was not applied.", internalDetail: "\(type(of: error))")
        }
    }

    static func from(_ error: CoffreError) -> ErrorResponse {
        let message = error.description
        return switch error {
        case .badParameter: ErrorResponse(status: .badRequest, code: "BadParameter", message: message)
        case .notFound(let kind, _), .versionNotFound(let kind, _, _), .deletedNotFound(let kind, _):
            ErrorResponse(status: .notFound, code: kind.notFoundCode, message: message)
        case .deletedButRecoverable:
            ErrorResponse(status: .conflict, code: "Conflict", innerCode: "ObjectIsDeletedButRecoverable", message: message)
        case .conflict: ErrorResponse(status: .conflict, code: "Conflict", message: message)
        case .disabled(let kind, _):
            ErrorResponse(status: .forbidden, code: "Forbidden", innerCode: kind.title + "Disabled", message: message)
        case .forbidden(let reason, _): ErrorResponse(status: .forbidden, code: "Forbidden", innerCode: reason.innerCode, message: message)
        case .purgeProtected: ErrorResponse(status: .forbidden, code: "Forbidden", innerCode: "PurgeProtected", message: message)
        case .pendingCertificateNotFound: ErrorResponse(status: .notFound, code: "PendingCertificateNotFound", message: message)
        case .issuerNotFound: ErrorResponse(status: .notFound, code: "CertificateIssuerNotFound", message: message)
        case .contactsNotFound: ErrorResponse(status: .notFound, code: "ContactsNotFound", message: message)
        case .certificateOperationInProgress: ErrorResponse(status: .conflict, code: "Forbidden", message: message)
        case .managedByCertificate: ErrorResponse(status: .forbidden, code: "Forbidden", innerCode: "ManagedByCertificate", message: message)
        case .vaultNotFound: ErrorResponse(status: .notFound, code: "VaultNotFound", message: message)
        case .principalNotFound: ErrorResponse(status: .notFound, code: "PrincipalNotFound", message: message)
        case .unauthorized: ErrorResponse(status: .unauthorized, code: "Unauthorized", message: message)
        case .sealed: ErrorResponse(status: .serviceUnavailable, code: "ServiceUnavailable", message: message, retryAfter: 5)
        case .unavailable: ErrorResponse(status: .serviceUnavailable, code: "ServiceUnavailable", message: message, retryAfter: 1)
        case .faultNotFound: ErrorResponse(status: .notFound, code: "FaultNotFound", message: message)
        }
    }

    static func from(_ error: ManagedHSMError) -> ErrorResponse {
        let message = error.description
        return switch error {
        case .poolNotFound: ErrorResponse(status: .notFound, code: "ManagedHsmNotFound", message: message)
        case .notActivated: ErrorResponse(status: .forbidden, code: "Forbidden", innerCode: "ManagedHsmNotActivated", message: message)
        case .alreadyActivated: ErrorResponse(status: .conflict, code: "Conflict", message: message)
        case .roleDefinitionNotFound: ErrorResponse(status: .notFound, code: "RoleDefinitionNotFound", message: message)
        case .roleAssignmentNotFound: ErrorResponse(status: .notFound, code: "RoleAssignmentNotFound", message: message)
        case .settingNotFound: ErrorResponse(status: .notFound, code: "SettingNotFound", message: message)
        case .accessDenied: ErrorResponse(status: .forbidden, code: "AccessDenied", message: message)
        }
    }

    static func from(_ error: ManagedStorageError) -> ErrorResponse {
        let message = error.description
        return switch error {
        case .notFound(let kind, _), .deletedNotFound(let kind, _):
            ErrorResponse(status: .notFound, code: kind.wireName + "NotFound", message: message)
        case .deletedButRecoverable:
            ErrorResponse(status: .conflict, code: "Conflict", innerCode: "ObjectIsDeletedButRecoverable", message: message)
        case .disabled(let kind, _):
            ErrorResponse(status: .forbidden, code: "Forbidden", innerCode: kind.wireName + "Disabled", message: message)
        case .managedBySASDefinition:
            ErrorResponse(status: .forbidden, code: "Forbidden", innerCode: "ManagedBySasDefinition", message: message)
        }
    }

    static func from(_ error: ResourceManagerError) -> ErrorResponse {
        let status: HTTPResponse.Status =
            switch error {
            case .authenticationFailed, .invalidAuthenticationToken: .unauthorized
            case .authorizationFailed: .forbidden
            case .missingApiVersion, .invalidApiVersion, .softDeletedVaultDoesNotExist, .invalidScope, .badRequest: .badRequest
            case .subscriptionNotFound, .resourceGroupNotFound, .resourceNotFound, .deletedVaultNotFound, .roleAssignmentNotFound,
                .roleDefinitionNotFound:
                .notFound
            case .vaultAlreadyExists, .storageAccountAlreadyTaken, .deletedVaultExists, .purgeProtected, .resourceGroupLocation, .scopeLocked,
                .roleAssignmentExists:
                .conflict
            }
        return ErrorResponse(status: status, code: error.code, message: error.description)
    }

    static func from(_ error: GraphError) -> ErrorResponse {
        let status: HTTPResponse.Status =
            switch error {
            case .invalidAuthenticationToken: .unauthorized
            case .authorizationDenied: .forbidden
            case .notFound: .notFound
            case .badRequest: .badRequest
            }
        return ErrorResponse(status: status, code: error.code, message: error.description)
    }

    /// A fault injected in development mode, answered as Key Vault answers the real thing.
    static func from(_ fault: InjectedFault) -> ErrorResponse {
        let (status, code, what): (HTTPResponse.Status, String, String) =
            switch fault.status {
            case 429: (.tooManyRequests, "Throttled", "Too many requests")
            case 500: (.internalServerError, "InternalServerError", "An internal error")
            default: (.serviceUnavailable, "ServiceUnavailable", "The service is unavailable")
            }
        return ErrorResponse(
            status: status, code: code, message: "\(what): a fault injected by `coffre faults add` (id \(fault.id)). Retry later.",
            retryAfter: fault.retryAfter, internalDetail: "injected fault \(fault.id)")
    }

    static func from(_ error: StorageError) -> ErrorResponse {
        switch error {
        case .unavailable:
            ErrorResponse(
                status: .serviceUnavailable, code: "ServiceUnavailable",
                message: "The storage is unavailable; the request was not applied. Retry later.", retryAfter: 1)
        case .notWritable(let detail):
            ErrorResponse(
                status: .serviceUnavailable, code: "StorageNotWritable",
                message: "The storage cannot be written: \(detail). The request was not applied.", retryAfter: 5)
        case .corrupt:
            ErrorResponse(
                status: .internalServerError, code: "InternalServerError",
                message: "Stored data failed its integrity check; the request was not applied.")
        case .invalidKey(let detail): ErrorResponse(status: .badRequest, code: "BadParameter", message: detail)
        }
    }

    /// Where keys live: an unreachable token is worth retrying (503 + `Retry-After`); a token Coffre cannot use at all is a
    /// 503 without one; what a client sent or asked that the token refuses is a 400 or 403.
    static func from(_ failure: CustodyFailure) -> ErrorResponse {
        let message = failure.description
        return switch failure {
        case .unavailable: ErrorResponse(status: .serviceUnavailable, code: "ServiceUnavailable", message: message, retryAfter: 5)
        case .moduleUnusable, .tokenNotFound, .pinIncorrect, .pinLocked, .pinFileUnusable, .noModule:
            ErrorResponse(status: .serviceUnavailable, code: "HSMUnavailable", message: message)
        case .moduleFailure:
            ErrorResponse(status: .internalServerError, code: "HSMFailure", message: message, internalDetail: message)
        case .keyNotFound: ErrorResponse(status: .conflict, code: "Conflict", innerCode: "KeyNotInHSM", message: message)
        case .notExtractable: ErrorResponse(status: .forbidden, code: "Forbidden", innerCode: "KeyNotExportable", message: message)
        case .operationNotPermitted:
            ErrorResponse(status: .forbidden, code: "Forbidden", innerCode: "KeyOperationForbidden", message: message)
        case .backupKeyMissing: ErrorResponse(status: .badRequest, code: "BadParameter", innerCode: "BackupKeyMissing", message: message)
        case .backupNotRestorable: ErrorResponse(status: .badRequest, code: "BadParameter", message: message)
        case .invalidBYOK: ErrorResponse(status: .badRequest, code: "BadParameter", innerCode: "InvalidKeyTransferBlob", message: message)
        case .notAKeyExchangeKey:
            ErrorResponse(status: .badRequest, code: "BadParameter", innerCode: "NotAKeyExchangeKey", message: message)
        }
    }

    init(
        status: HTTPResponse.Status, code: String, innerCode: String? = nil, message: String, retryAfter: Int? = nil,
        internalDetail: String? = nil
    ) {
        self.status = status
        self.code = code
        self.innerCode = innerCode
        self.message = message
        self.retryAfter = retryAfter
        self.internalDetail = internalDetail
    }

    /// The Key Vault error envelope: `{"error": {"code", "message", "innererror": {"code"}}}`.
    struct Envelope: Encodable {
        struct Inner: Encodable { var code: String }
        struct Body: Encodable {
            var code: String
            var message: String
            var innererror: Inner?
        }
        var error: Body
    }

    /// The HTTP response: the envelope, `no-cache`, the challenge on 401, `Retry-After` on 429 and 503. Internal errors are
    /// logged by type only (never a value).
    func response(challenge: String?, logger: Logger) -> Response { response(envelope, challenge: challenge, logger: logger) }

    /// The HTTP response with `body` (an error shape's envelope): `no-cache`, the challenge on 401, `Retry-After` on 503.
    /// Internal errors are logged by type only (never a value).
    func response(_ body: some Encodable, challenge: String?, logger: Logger) -> Response {
        if status == .internalServerError { logger.error("request failed", metadata: ["error": "\(internalDetail ?? code)"]) }
        var headers: HTTPFields = [.cacheControl: "no-cache"]
        if status == .unauthorized, let challenge { headers[.wwwAuthenticate] = challenge }
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return (try? JSON.response(body, status: status, headers: headers)) ?? Response(status: status)
    }

    var envelope: Envelope {
        Envelope(error: .init(code: code, message: message, innererror: innerCode.map { .init(code: $0) }))
    }
}

extension ForbiddenReason {
    /// Key Vault's inner error code of a 403.
    var innerCode: String {
        switch self {
        case .accessPolicy: "ForbiddenByPolicy"
        case .roleAssignments: "ForbiddenByRbac"
        case .keyOperationNotPermitted: "KeyOperationForbidden"
        case .keyExpired: "KeyExpired"
        case .keyNotYetValid: "KeyNotYetValid"
        case .secretExpired: "SecretExpired"
        case .keyNotExportable: "KeyNotExportable"
        case .releasePolicyNotSatisfied: "KeyReleasePolicyNotSatisfied"
        case .developmentModeRequired: "DevelopmentModeRequired"
        case .notAllowed: "Forbidden"
        }
    }
}

extension ObjectKind {
    /// The Key Vault error code for a missing object (`SecretNotFound`).
    var notFoundCode: String { title + "NotFound" }
}

/// Key Vault's error envelope, `{"error": {"code", "message", "innererror"}}`: the data plane, the management API and
/// the server's own endpoints.
struct KeyVaultErrors: ErrorShape {
    func response(_ error: ErrorResponse, challenge: String?, logger: Logger) -> Response {
        error.response(challenge: challenge, logger: logger)
    }
}

/// The OAuth 2.0 token endpoint's errors (RFC 6749 §5.2): `{"error", "error_description"}`. The token service's own
/// errors carry OAuth codes (lower case); the table's others are named by their status: an outage (503) is
/// `temporarily_unavailable` with `Retry-After`, other server failures `server_error`.
struct OAuthErrors: ErrorShape {
    struct Body: Encodable {
        var error: String
        var error_description: String
    }

    func response(_ error: ErrorResponse, challenge: String?, logger: Logger) -> Response {
        if error.status == .internalServerError { logger.error("token request failed", metadata: ["error": "\(error.internalDetail ?? error.code)"]) }
        let code: String
        if error.code.first?.isLowercase ?? false {
            code = error.code
        } else {
            code =
                switch error.status.code {
                case 503: "temporarily_unavailable"
                case 500...: "server_error"
                case 401: "invalid_client"
                default: "invalid_request"
                }
        }
        var headers: HTTPFields = [.cacheControl: "no-store"]
        if let retryAfter = error.retryAfter ?? (error.status == .serviceUnavailable ? 1 : nil) { headers[.retryAfter] = String(retryAfter) }
        return (try? JSON.response(Body(error: code, error_description: error.message), status: error.status, headers: headers))
            ?? Response(status: .internalServerError)
    }
}

/// The managed-identity endpoints' errors (App Service and IMDS): `{"error", "error_description", "statusCode", "message"}`.
struct ManagedIdentityErrors: ErrorShape {
    struct Body: Encodable {
        var error: String
        var error_description: String
        var statusCode: Int
        var message: String
    }

    func response(_ error: ErrorResponse, challenge: String?, logger: Logger) -> Response {
        let body = Body(error: error.code, error_description: error.message, statusCode: Int(error.status.code), message: error.message)
        return (try? JSON.response(body, status: error.status)) ?? Response(status: .internalServerError)
    }
}

extension ManagedStorageKind {
    /// How Key Vault's error codes name it (`StorageAccountNotFound`, `SasDefinitionDisabled`).
    var wireName: String {
        switch self {
        case .account: "StorageAccount"
        case .sasDefinition: "SasDefinition"
        }
    }
}

/// Azure Resource Manager's and Microsoft Graph's errors: `{"error": {"code", "message"}}`, with a bearer challenge on 401.
struct CodeAndMessageErrors: ErrorShape {
    struct Envelope: Encodable {
        struct Body: Encodable {
            var code: String
            var message: String
        }
        var error: Body
    }

    func response(_ error: ErrorResponse, challenge: String?, logger: Logger) -> Response {
        error.response(Envelope(error: .init(code: error.code, message: error.message)), challenge: challenge, logger: logger)
    }
}
