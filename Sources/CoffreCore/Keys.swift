import CoffreCrypto
import CoffreJSON
import CoffreModel
import Foundation

/// One version of a key as stored (inside the barrier): the private material, its public JWK, and its settings.
public struct KeyVersion: Codable, JSONFieldsEncodable, Sendable {
    public var version: String
    public var keyType: KeyType
    /// The private key material (`KeyMaterial.storedRepresentation`, base64).
    public var material: String
    /// The public members only.
    public var publicKey: JsonWebKey
    public var keyOps: [String]
    public var attributes: ObjectAttributes
    public var exportable: Bool?
    public var tags: [String: String]?
    public var releasePolicy: KeyReleasePolicy?
    /// `true` for keys that back a certificate.
    public var managed: Bool?
    /// Size (RSA/oct bits) and curve, kept for rotation.
    public var size: Int?
    public var curve: CurveName?
    /// `true` when the material was imported rather than generated here (what key attestation states).
    public var imported: Bool?

    public func writeFields(_ object: inout JSONObjectWriter) throws {
        try object.field("version", version)
        try object.field("keyType", keyType.rawValue)
        try object.field("material", material)
        try object.field("publicKey", publicKey)
        try object.field("keyOps", elements: keyOps)
        try object.field("attributes", attributes)
        try object.field("exportable", exportable)
        try object.field("tags", tags)
        try object.field("releasePolicy", releasePolicy)
        try object.field("managed", managed)
        try object.field("size", size)
        try object.field("curve", curve?.rawValue)
        try object.field("imported", imported)
    }
}

extension KeyVersion: VersionedRecord {
    public struct Summary: Codable, JSONFieldsEncodable, Sendable {
        public var attributes: ObjectAttributes
        public var exportable: Bool?
        public var tags: [String: String]?
        public var managed: Bool?
        public var keyType: KeyType

        public func writeFields(_ object: inout JSONObjectWriter) throws {
            try object.field("attributes", attributes)
            try object.field("exportable", exportable)
            try object.field("tags", tags)
            try object.field("managed", managed)
            try object.field("keyType", keyType.rawValue)
        }
    }

    public var summary: Summary {
        Summary(attributes: attributes, exportable: exportable, tags: tags, managed: managed, keyType: keyType)
    }
}

/// A key release policy, kept as the client gave it (`data` is base64url of the policy document).
public struct KeyReleasePolicy: Codable, Sendable, Equatable {
    public var contentType: String?
    public var immutable: Bool?
    public var data: String?

    public init(contentType: String?, immutable: Bool?, data: String?) {
        self.contentType = contentType
        self.immutable = immutable
        self.data = data
    }
}

/// A key rotation policy: when to rotate (or notify), and the expiry given to new versions.
public struct KeyRotationPolicy: Codable, Sendable, Equatable {
    public struct LifetimeAction: Codable, Sendable, Equatable {
        /// ISO 8601 durations (`P90D`, `P1Y2M`, `PT48H`).
        public var timeAfterCreate: String?
        public var timeBeforeExpiry: String?
        /// `Rotate` or `Notify`.
        public var action: String

        public init(timeAfterCreate: String?, timeBeforeExpiry: String?, action: String) {
            self.timeAfterCreate = timeAfterCreate
            self.timeBeforeExpiry = timeBeforeExpiry
            self.action = action
        }
    }

    public var lifetimeActions: [LifetimeAction]
    public var expiryTime: String?
    public var created: Int64?
    public var updated: Int64?

    public init(lifetimeActions: [LifetimeAction], expiryTime: String?, created: Int64? = nil, updated: Int64? = nil) {
        self.lifetimeActions = lifetimeActions
        self.expiryTime = expiryTime
        self.created = created
        self.updated = updated
    }

    /// What the service answers for a key without a policy.
    public static let `default` = KeyRotationPolicy(
        lifetimeActions: [LifetimeAction(timeAfterCreate: nil, timeBeforeExpiry: "P30D", action: "Notify")], expiryTime: nil)

    /// Checks Key Vault's rules: known actions, one trigger each, at most one of each action, expiry ≥ 28 days.
    public func validated() throws -> KeyRotationPolicy {
        var copy = self
        var seen: Set<String> = []
        for (index, action) in lifetimeActions.enumerated() {
            let type = action.action.lowercased()
            guard type == "rotate" || type == "notify" else {
                throw CoffreError.badParameter("Lifetime action type '\(action.action)' is not valid: use Rotate or Notify.")
            }
            guard seen.insert(type).inserted else { throw CoffreError.badParameter("A rotation policy has at most one \(action.action) action.") }
            guard (action.timeAfterCreate == nil) != (action.timeBeforeExpiry == nil) else {
                throw CoffreError.badParameter("Each lifetime action needs exactly one trigger: timeAfterCreate or timeBeforeExpiry.")
            }
            if let value = action.timeAfterCreate { _ = try ISODuration.seconds(value) }
            if let value = action.timeBeforeExpiry { _ = try ISODuration.seconds(value) }
            copy.lifetimeActions[index].action = type == "rotate" ? "Rotate" : "Notify"
        }
        if let expiryTime {
            guard try ISODuration.seconds(expiryTime) >= 28 * Seconds.day else {
                throw CoffreError.badParameter("The rotation policy's expiryTime must be at least 28 days.")
            }
        }
        if lifetimeActions.contains(where: { $0.timeBeforeExpiry != nil && $0.action.lowercased() == "rotate" }) && expiryTime == nil {
            throw CoffreError.badParameter("A timeBeforeExpiry trigger needs the policy's expiryTime.")
        }
        return copy
    }
}

/// ISO 8601 durations as Key Vault uses them (`P90D`, `P1Y2M3D`, `PT48H`, `P2W`); months count 30 days, years 365.
public enum ISODuration {
    /// The longest duration accepted: 1000 years (longer ones could not be added to a time).
    static let maxSeconds: Int64 = 1000 * 365 * Seconds.day

    /// The duration in seconds (months count 30 days, years 365); a malformed, empty or too long one is a 400.
    public static func seconds(_ text: String) throws -> Int64 {
        let upper = text.uppercased()
        guard upper.hasPrefix("P"), upper.count > 1 else { throw invalid(text) }
        var total: Int64 = 0
        var number = ""
        var inTime = false
        for character in upper.dropFirst() {
            if character.isNumber {
                number.append(character)
                continue
            }
            if character == "T" {
                guard number.isEmpty, !inTime else { throw invalid(text) }
                inTime = true
                continue
            }
            guard let value = Int64(number) else { throw invalid(text) }
            number = ""
            let unit: Int64? =
                switch (inTime, character) {
                case (false, "Y"): 365 * Seconds.day
                case (false, "M"): 30 * Seconds.day
                case (false, "W"): 7 * Seconds.day
                case (false, "D"): Seconds.day
                case (true, "H"): 3600
                case (true, "M"): 60
                case (true, "S"): 1
                default: nil
                }
            guard let unit else { throw invalid(text) }
            let (seconds, overflow) = value.multipliedReportingOverflow(by: unit)
            guard !overflow, total <= maxSeconds - seconds else { throw invalid(text) }
            total += seconds
        }
        guard number.isEmpty, total > 0 else { throw invalid(text) }
        return total
    }

    static func invalid(_ text: String) -> CoffreError {
        CoffreError.badParameter("'\(text.prefix(64))' is not an ISO 8601 duration such as P90D, P1Y or PT48H.")
    }
}
