import CoffreCrypto
import CoffreModel

/// A declarative description of vaults and what they hold (`coffre serve --seed`, `coffre vault import|export`),
/// read from YAML or JSON. `docs/seed-format.md` describes it with an example.
public struct SeedDocument: Codable, Sendable, Equatable {
    public var vaults: [VaultSeed]

    public init(vaults: [VaultSeed]) { self.vaults = vaults }
}

/// A time in a seed file: ISO 8601 (`2030-01-01T00:00:00Z`, `2030-01-01`) or seconds since 1970; written as ISO 8601.
public struct SeedTime: Codable, Sendable, Equatable {
    public var seconds: Int64

    public init(_ seconds: Int64) { self.seconds = seconds }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let seconds = try? container.decode(Int64.self) {
            self.seconds = seconds
            return
        }
        let text = try container.decode(String.self)
        guard let seconds = ISOTime.parse(text) else {
            throw CoffreError.badParameter("'\(text)' is not a time: write ISO 8601 (2030-01-01T00:00:00Z or 2030-01-01) or seconds since 1970.")
        }
        self.seconds = seconds
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(ISOTime.format(seconds))
    }
}

/// A vault: its settings (applied when it is created), access policies, role assignments and objects.
public struct VaultSeed: Codable, Sendable, Equatable {
    public var name: String?
    public var retentionDays: Int?
    public var purgeProtection: Bool?
    public var rbacAuthorization: Bool?
    public var accessPolicies: [AccessPolicySeed]?
    public var roleAssignments: [RoleAssignmentSeed]?
    public var secrets: [SecretSeed]?
    public var keys: [KeySeed]?
    public var certificates: [CertificateSeed]?

    public init(
        name: String? = nil, retentionDays: Int? = nil, purgeProtection: Bool? = nil, rbacAuthorization: Bool? = nil,
        accessPolicies: [AccessPolicySeed]? = nil, roleAssignments: [RoleAssignmentSeed]? = nil, secrets: [SecretSeed]? = nil,
        keys: [KeySeed]? = nil, certificates: [CertificateSeed]? = nil
    ) {
        self.name = name
        self.retentionDays = retentionDays
        self.purgeProtection = purgeProtection
        self.rbacAuthorization = rbacAuthorization
        self.accessPolicies = accessPolicies
        self.roleAssignments = roleAssignments
        self.secrets = secrets
        self.keys = keys
        self.certificates = certificates
    }
}

public struct AccessPolicySeed: Codable, Sendable, Equatable {
    /// An object id, or the client id or name of a principal of this server.
    public var objectId: String
    public var tenantId: String?
    /// Permission names by area (`keys`, `secrets`, `certificates`, `storage`); `all` expands.
    public var permissions: [String: [String]]

    public init(objectId: String, tenantId: String? = nil, permissions: [String: [String]]) {
        self.objectId = objectId
        self.tenantId = tenantId
        self.permissions = permissions
    }
}

public struct RoleAssignmentSeed: Codable, Sendable, Equatable {
    /// A built-in role's name or id (`Key Vault Secrets User`).
    public var role: String
    /// An object id, or the client id or name of a principal of this server.
    public var assignee: String
    /// `/vaults/V` (the default) or `/vaults/V/secrets/NAME`, …
    public var scope: String?

    public init(role: String, assignee: String, scope: String? = nil) {
        self.role = role
        self.assignee = assignee
        self.scope = scope
    }
}

/// The attributes and tags of a secret, key or certificate (each optional: absent leaves the object's own).
public protocol SeedObject {
    var enabled: Bool? { get }
    var notBefore: SeedTime? { get }
    var expires: SeedTime? { get }
    var tags: [String: String]? { get }
}

extension SeedObject {
    /// What the seed asks to change in `attributes` and `current` tags; nil when they already are as asked.
    func changes(from attributes: ObjectAttributes, tags current: [String: String]?) -> (attributes: AttributeChanges, tags: [String: String]??)? {
        let changes = AttributeChanges(
            enabled: enabled.flatMap { $0 == attributes.enabled ? nil : $0 },
            notBefore: notBefore.flatMap { $0.seconds == attributes.notBefore ? nil : .some($0.seconds) },
            expires: expires.flatMap { $0.seconds == attributes.expires ? nil : .some($0.seconds) })
        let tagChange: [String: String]?? = tags.flatMap { $0 == (current ?? [:]) ? nil : .some($0) }
        return changes == AttributeChanges() && tagChange == nil ? nil : (changes, tagChange)
    }

    /// The attributes a new object gets.
    var attributeChanges: AttributeChanges {
        AttributeChanges(enabled: enabled, notBefore: notBefore.map { .some($0.seconds) }, expires: expires.map { .some($0.seconds) })
    }
}

public struct SecretSeed: Codable, Sendable, Equatable, SeedObject {
    public var name: String
    /// Required to create the secret; a changed value adds a version. Exports carry it only when asked.
    public var value: String?
    public var contentType: String?
    public var enabled: Bool?
    public var notBefore: SeedTime?
    public var expires: SeedTime?
    public var tags: [String: String]?

    public init(
        name: String, value: String? = nil, contentType: String? = nil, enabled: Bool? = nil, notBefore: SeedTime? = nil, expires: SeedTime? = nil,
        tags: [String: String]? = nil
    ) {
        self.name = name
        self.value = value
        self.contentType = contentType
        self.enabled = enabled
        self.notBefore = notBefore
        self.expires = expires
        self.tags = tags
    }
}

/// A key generated from `kty` and `size`/`curve`, or imported from `jwk` (with its private parts) or `pem` (PKCS#8,
/// PKCS#1 or SEC 1 private key).
public struct KeySeed: Codable, Sendable, Equatable, SeedObject {
    public var name: String
    /// `RSA`, `EC`, `oct`, or their `-HSM` forms.
    public var kty: String?
    public var size: Int?
    public var curve: String?
    public var ops: [String]?
    public var jwk: JsonWebKey?
    public var pem: String?
    /// A PEM file, relative to the seed file: the command line reads it into `pem`.
    public var pemFile: String?
    /// Written by exports without values, for reference; never read.
    public var publicJwk: JsonWebKey?
    public var enabled: Bool?
    public var notBefore: SeedTime?
    public var expires: SeedTime?
    public var tags: [String: String]?

    public init(name: String, kty: String? = nil, size: Int? = nil, curve: String? = nil, ops: [String]? = nil) {
        self.name = name
        self.kty = kty
        self.size = size
        self.curve = curve
        self.ops = ops
    }
}

/// A certificate made from `policy` (issued at once for the `Self` issuer), or imported from `pfx` (base64) or `pem`.
public struct CertificateSeed: Codable, Sendable, Equatable, SeedObject {
    public var name: String
    public var policy: CertificatePolicy?
    public var pfx: String?
    public var pem: String?
    /// A PFX or PEM file, relative to the seed file: the command line reads it into `pfx` (base64) or `pem`.
    public var file: String?
    public var password: String?
    public var enabled: Bool?
    public var tags: [String: String]?
    public var notBefore: SeedTime? { nil }
    public var expires: SeedTime? { nil }

    enum CodingKeys: String, CodingKey {
        case name, policy, pfx, pem, file, password, enabled, tags
    }

    public init(name: String, policy: CertificatePolicy? = nil, pfx: String? = nil, pem: String? = nil) {
        self.name = name
        self.policy = policy
        self.pfx = pfx
        self.pem = pem
    }
}

/// What loading a vault did: the objects created, changed (a new version or new attributes) and already as asked.
public struct SeedReport: Codable, Sendable, Equatable {
    public var vault: String
    public var created: [String] = []
    public var changed: [String] = []
    public var unchanged: [String] = []

    public init(vault: String) { self.vault = vault }
}
