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
    /// `true` for secrets that back a certificate or a SAS definition; they are managed through it.
    public var managed: Bool?
    /// Set when the secret hands out the tokens of a SAS definition: reading it mints a token (`value` stays empty).
    public var sasDefinition: SASDefinitionReference?

    public init(
        version: String, value: String, contentType: String?, attributes: ObjectAttributes, tags: [String: String]?,
        keyPath: String? = nil, managed: Bool? = nil, sasDefinition: SASDefinitionReference? = nil
    ) {
        self.version = version
        self.value = value
        self.contentType = contentType
        self.attributes = attributes
        self.tags = tags
        self.keyPath = keyPath
        self.managed = managed
        self.sasDefinition = sasDefinition
    }

    public func writeFields(_ object: inout JSONObjectWriter) throws {
        try object.field("version", version)
        try object.field("value", value)
        try object.field("contentType", contentType)
        try object.field("attributes", attributes)
        try object.field("tags", tags)
        try object.field("keyPath", keyPath)
        try object.field("managed", managed)
        try object.field("sasDefinition", sasDefinition)
    }
}

/// The SAS definition of a managed storage account whose tokens a secret (`{account}-{definition}`) hands out.
public struct SASDefinitionReference: Codable, JSONFieldsEncodable, Sendable, Equatable {
    /// The managed storage account's name, case-folded.
    public var account: String
    /// The SAS definition's name, case-folded.
    public var definition: String

    public init(account: String, definition: String) {
        self.account = account
        self.definition = definition
    }

    public func writeFields(_ object: inout JSONObjectWriter) throws {
        try object.field("account", account)
        try object.field("definition", definition)
    }
}

/// Key Vault's limits on secrets.
public enum SecretLimits {
    /// The maximum size of a value in bytes (25 KiB).
    public static let maxValueBytes = 25 * 1024
    public static let maxContentTypeLength = 255
}
