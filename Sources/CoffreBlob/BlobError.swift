/// An Azure Storage error as the Blob service reports it: a wire code with its HTTP status and the service's message,
/// plus the extra elements some codes carry (`AuthenticationErrorDetail`, `HeaderName`, `QueryParameterName`, …).
///
/// Every refusal of the Blob service is one of these; `xml(requestId:time:)` writes the body Azure Storage sends and the
/// `x-ms-error-code` header carries `code.name`. Messages and details never contain a key or a signature.
public struct BlobError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A wire code: its name, the HTTP status it is sent with, and the service's message for it.
    public struct Code: Equatable, Sendable {
        public let name: String
        public let status: Int
        public let message: String

        init(_ name: String, _ status: Int, _ message: String) {
            self.name = name
            self.status = status
            self.message = message
        }
    }

    public var code: Code
    /// Extra elements after `<Message>`, in order (name, text).
    public var details: [Detail]

    public struct Detail: Equatable, Sendable {
        public var name: String
        public var value: String
    }

    public init(_ code: Code, details: [(String, String)] = []) {
        self.code = code
        self.details = details.map { Detail(name: $0.0, value: $0.1) }
    }

    public var description: String {
        ([code.name + ": " + code.message] + details.map { "\($0.name): \($0.value)" }).joined(separator: " ")
    }

    /// The error body: `<Error><Code/><Message/>…</Error>`, the message followed by the request id and time as the
    /// service writes them.
    public func xml(requestId: String, time: String) -> [UInt8] {
        var xml = XMLWriter()
        xml.open("Error")
        xml.element("Code", code.name)
        xml.element("Message", "\(code.message)\nRequestId:\(requestId)\nTime:\(time)")
        for detail in details { xml.element(detail.name, detail.value) }
        xml.close("Error")
        return xml.bytes
    }
}

extension BlobError.Code {
    static let authenticationFailed = Self(
        "AuthenticationFailed", 403,
        "Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.")
    static let authorizationFailure = Self("AuthorizationFailure", 403, "This request is not authorized to perform this operation.")
    static let authorizationPermissionMismatch = Self(
        "AuthorizationPermissionMismatch", 403, "This request is not authorized to perform this operation using this permission.")
    static let authorizationResourceTypeMismatch = Self(
        "AuthorizationResourceTypeMismatch", 403, "This request is not authorized to perform this operation using this resource type.")
    static let authorizationServiceMismatch = Self(
        "AuthorizationServiceMismatch", 403, "This request is not authorized to perform this operation using this service.")
    static let authorizationProtocolMismatch = Self(
        "AuthorizationProtocolMismatch", 403, "This request is not authorized to perform this operation using this protocol.")
    static let authorizationSourceIPMismatch = Self(
        "AuthorizationSourceIPMismatch", 403, "This request is not authorized to perform this operation using this source IP.")
    static let noAuthenticationInformation = Self(
        "NoAuthenticationInformation", 401,
        "Server failed to authenticate the request. Please refer to the information in the www-authenticate header.")
    static let invalidAuthenticationInfo = Self(
        "InvalidAuthenticationInfo", 400, "Authentication information is not given in the correct format. Check the value of Authorization header.")
    static let containerNotFound = Self("ContainerNotFound", 404, "The specified container does not exist.")
    static let blobNotFound = Self("BlobNotFound", 404, "The specified blob does not exist.")
    static let resourceNotFound = Self("ResourceNotFound", 404, "The specified resource does not exist.")
    static let containerAlreadyExists = Self("ContainerAlreadyExists", 409, "The specified container already exists.")
    static let blobAlreadyExists = Self("BlobAlreadyExists", 409, "The specified blob already exists.")
    static let conditionNotMet = Self("ConditionNotMet", 412, "The condition specified using HTTP conditional header(s) is not met.")
    static let leaseNotPresentWithBlobOperation = Self(
        "LeaseNotPresentWithBlobOperation", 412, "There is currently no lease on the blob.")
    static let leaseNotPresentWithContainerOperation = Self(
        "LeaseNotPresentWithContainerOperation", 412, "There is currently no lease on the container.")
    static let invalidRange = Self("InvalidRange", 416, "The range specified is invalid for the current size of the resource.")
    static let invalidQueryParameterValue = Self(
        "InvalidQueryParameterValue", 400, "Value for one of the query parameters specified in the request URI is invalid.")
    static let outOfRangeQueryParameterValue = Self(
        "OutOfRangeQueryParameterValue", 400, "One of the query parameters specified in the request URI is outside the permissible range.")
    static let missingRequiredQueryParameter = Self(
        "MissingRequiredQueryParameter", 400, "A query parameter that's mandatory for this request is not specified.")
    static let invalidHeaderValue = Self("InvalidHeaderValue", 400, "The value for one of the HTTP headers is not in the correct format.")
    static let missingRequiredHeader = Self("MissingRequiredHeader", 400, "An HTTP header that's mandatory for this request is not specified.")
    static let missingContentLength = Self("MissingContentLengthHeader", 411, "The Content-Length header was not specified.")
    static let requestBodyTooLarge = Self(
        "RequestBodyTooLarge", 413, "The request body is too large and exceeds the maximum permissible limit.")
    static let invalidResourceName = Self("InvalidResourceName", 400, "The specifed resource name contains invalid characters.")
    static let outOfRangeInput = Self("OutOfRangeInput", 400, "One of the request inputs is out of range.")
    static let invalidMetadata = Self("InvalidMetadata", 400, "The metadata specified is invalid. It has characters that are not permitted.")
    static let metadataTooLarge = Self("MetadataTooLarge", 400, "The size of the specified metadata exceeds the maximum size permitted.")
    static let md5Mismatch = Self(
        "Md5Mismatch", 400, "The MD5 value specified in the request did not match with the MD5 value calculated by the server.")
    static let invalidBlockId = Self("InvalidBlockId", 400, "The specified block ID is invalid. The block ID must be Base64-encoded.")
    static let invalidBlobOrBlock = Self("InvalidBlobOrBlock", 400, "The specified blob or block content is invalid.")
    static let invalidBlockList = Self("InvalidBlockList", 400, "The specified block list is invalid.")
    static let blockCountExceedsLimit = Self(
        "BlockCountExceedsLimit", 409, "The uncommitted block count cannot exceed the maximum limit of 100,000 blocks.")
    static let blockListTooLong = Self("BlockListTooLong", 400, "The block list may not contain more than 50,000 blocks.")
    static let publicAccessNotPermitted = Self("PublicAccessNotPermitted", 409, "Public access is not permitted on this storage account.")
    static let invalidXmlDocument = Self("InvalidXmlDocument", 400, "XML specified is not syntactically valid.")
    static let invalidUri = Self("InvalidUri", 400, "The requested URI does not represent any resource on the server.")
    static let unsupportedHttpVerb = Self("UnsupportedHttpVerb", 405, "The resource doesn't support the specified HTTP verb.")
    static let internalError = Self("InternalError", 500, "The server encountered an internal error. Please retry the request.")
    static let serverBusy = Self("ServerBusy", 503, "The server is currently unable to receive requests. Please retry your request.")
}

extension BlobError {
    static func authenticationFailed(_ detail: String) -> Self { Self(.authenticationFailed, details: [("AuthenticationErrorDetail", detail)]) }
    static let containerNotFound = Self(.containerNotFound)
    static let blobNotFound = Self(.blobNotFound)
    static let conditionNotMet = Self(.conditionNotMet)

    static func invalidQueryParameter(_ name: String, _ value: String, reason: String) -> Self {
        Self(.invalidQueryParameterValue, details: [("QueryParameterName", name), ("QueryParameterValue", value), ("Reason", reason)])
    }

    static func invalidHeader(_ name: String, _ value: String) -> Self {
        Self(.invalidHeaderValue, details: [("HeaderName", name), ("HeaderValue", value)])
    }

    static func missingHeader(_ name: String) -> Self { Self(.missingRequiredHeader, details: [("HeaderName", name)]) }

    static func tooLarge(limit: Int) -> Self { Self(.requestBodyTooLarge, details: [("MaxLimit", String(limit))]) }

    static func outOfRange(_ what: String) -> Self { Self(.outOfRangeInput, details: [("Reason", what)]) }
}
