import CoffreJSON

/// One version of a secret as stored (inside the barrier).
public struct SecretVersion: Codable, JSONFieldsEncodable, Sendable, Equatable {
    public var version: String
    public var value: String
    public var contentType: String?
    public var attributes: ObjectAttributes
    public var tags: [String: String]?
    /// Set when the secret backs a certificate: the id path of the matching key (`/keys/{name}/{version}`).
    public var keyPath: String?
    /// `true` for secrets that back a certificate; they are managed through the certificate.
    public var managed: Bool?

    public init(
        version: String, value: String, contentType: String?, attributes: ObjectAttributes, tags: [String: String]?,
        keyPath: String? = nil, managed: Bool? = nil
    ) {
        self.version = version
        self.value = value
        self.contentType = contentType
        self.attributes = attributes
        self.tags = tags
        self.keyPath = keyPath
        self.managed = managed
    }

    public func writeFields(_ object: inout JSONObjectWriter) throws {
        try object.field("version", version)
        try object.field("value", value)
        try object.field("contentType", contentType)
        try object.field("attributes", attributes)
        try object.field("tags", tags)
        try object.field("keyPath", keyPath)
        try object.field("managed", managed)
    }
}

/// Key Vault's limits on secrets.
public enum SecretLimits {
    /// The maximum size of a value in bytes (25 KiB).
    public static let maxValueBytes = 25 * 1024
    public static let maxContentTypeLength = 255
}
