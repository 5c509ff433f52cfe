import CoffreJSON

/// The attributes every versioned object carries (`enabled`, `nbf`, `exp`, `created`, `updated`).
///
/// `recoverableDays` and `recoveryLevel` are not stored: they follow from the vault's settings when a response
/// is written.
public struct ObjectAttributes: Codable, JSONFieldsEncodable, Sendable, Equatable {
    public var enabled: Bool
    public var notBefore: Int64?
    public var expires: Int64?
    public var created: Int64
    public var updated: Int64

    public init(enabled: Bool = true, notBefore: Int64? = nil, expires: Int64? = nil, created: Int64, updated: Int64) {
        self.enabled = enabled
        self.notBefore = notBefore
        self.expires = expires
        self.created = created
        self.updated = updated
    }

    public func writeFields(_ object: inout JSONObjectWriter) throws {
        try object.field("enabled", enabled)
        try object.field("notBefore", notBefore)
        try object.field("expires", expires)
        try object.field("created", created)
        try object.field("updated", updated)
    }

    /// Whether `now` lies inside the `nbf`/`exp` window.
    public func isActive(at now: Int64) -> Bool {
        if let notBefore, now < notBefore { return false }
        if let expires, now >= expires { return false }
        return true
    }
}

/// The changes a client may make to attributes; `nil` leaves a field as it is.
public struct AttributeChanges: Sendable, Equatable {
    public var enabled: Bool?
    public var notBefore: Int64??
    public var expires: Int64??

    public init(enabled: Bool? = nil, notBefore: Int64?? = nil, expires: Int64?? = nil) {
        self.enabled = enabled
        self.notBefore = notBefore
        self.expires = expires
    }

    public func applied(to attributes: ObjectAttributes, at now: Int64) -> ObjectAttributes {
        var result = attributes
        if let enabled { result.enabled = enabled }
        if let notBefore { result.notBefore = notBefore }
        if let expires { result.expires = expires }
        result.updated = now
        return result
    }
}

/// How a vault's deleted objects can be recovered (Key Vault's `DeletionRecoveryLevel`).
public enum RecoveryLevel: String, Sendable, Codable {
    case purgeable = "Purgeable"
    case recoverablePurgeable = "Recoverable+Purgeable"
    case recoverable = "Recoverable"
    case customizedRecoverablePurgeable = "CustomizedRecoverable+Purgeable"
    case customizedRecoverable = "CustomizedRecoverable"

    public init(retentionDays: Int, purgeProtection: Bool) {
        switch (retentionDays >= 90, purgeProtection) {
        case (true, false): self = .recoverablePurgeable
        case (true, true): self = .recoverable
        case (false, false): self = .customizedRecoverablePurgeable
        case (false, true): self = .customizedRecoverable
        }
    }
}

/// Tags: at most 15, names and values of at most 256 characters.
public enum Tags {
    public static let maxCount = 15
    public static let maxLength = 256

    public static func validate(_ tags: [String: String]?) throws {
        guard let tags else { return }
        guard tags.count <= maxCount else {
            throw CoffreError.badParameter("Too many tags: at most \(maxCount) are allowed, \(tags.count) were given.")
        }
        for (name, value) in tags {
            guard !name.isEmpty, name.count <= maxLength else {
                throw CoffreError.badParameter("Tag names must be 1-\(maxLength) characters long.")
            }
            guard value.count <= maxLength else {
                throw CoffreError.badParameter("The value of tag '\(name)' is longer than \(maxLength) characters.")
            }
        }
    }
}
