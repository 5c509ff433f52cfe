import CoffreCrypto
import CoffreModel

/// A Managed HSM pool's name. Azure gives pool names the rules of vault names (3–24 characters of letters, digits and
/// hyphens, starting with a letter, ending with a letter or digit, no consecutive hyphens), so ``VaultName`` checks
/// them; the name is stored lower-case (it is a DNS label).
public struct ManagedHSMName: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    /// `nil` for a name Azure would refuse (stored records decode through this).
    public init?(rawValue: String) {
        guard let name = try? VaultName(rawValue) else { return nil }
        self.rawValue = name.value
    }

    public init(_ raw: String) throws {
        guard let name = ManagedHSMName(rawValue: raw) else {
            throw CoffreError.badParameter(
                "The Managed HSM name '\(raw)' is invalid. A Managed HSM's name must be between 3-24 alphanumeric characters. The "
                    + "name must begin with a letter, end with a letter or digit, and not contain consecutive hyphens.")
        }
        self = name
    }

    public var value: String { rawValue }
    public var description: String { rawValue }
}

/// What makes a pool itself: 32 random bytes that its security domain carries and that a pool receiving the domain
/// holds afterwards. Keys that must be the same in both pools (the key backups are sealed with) derive from it.
/// Never printed: its descriptions are redacted.
public struct SecurityDomainRoot: Sendable, Codable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    static let byteCount = 32
    /// The security domain's item holding the root (its tag is also the label the item's key derives from).
    static let itemTag = "coffre-pool-root-v1"

    private let key: [UInt8]

    public init(bytes: [UInt8]) throws {
        guard bytes.count == Self.byteCount else { throw SecurityDomainFailure.malformed("the pool root must be 32 bytes") }
        self.key = bytes
    }

    public static func generate(random: any RandomSource = SystemRandomSource()) -> SecurityDomainRoot {
        // 32 bytes: the initialiser cannot fail.
        try! SecurityDomainRoot(bytes: random.bytes(byteCount))
    }

    /// The items of a security domain that carries this root.
    public var items: [SecurityDomainItem] { [SecurityDomainItem(tag: Self.itemTag, plaintext: key)] }

    /// The root a security domain's items carry.
    public init(items: [SecurityDomainItem]) throws {
        guard let item = items.first(where: { $0.tag == Self.itemTag }) else {
            throw SecurityDomainFailure.malformed("the security domain carries no Coffre pool root (\(Self.itemTag))")
        }
        try self.init(bytes: item.plaintext)
    }

    /// A 32-byte key for `purpose` (SP 800-108 with the purpose as label): equal in every pool holding this root.
    public func derivedKey(for purpose: String) -> [UInt8] {
        // 32 bytes from a 32-byte key: the derivation cannot fail.
        try! SP800108.counterHMACSHA512(key: key, label: Array("coffre/managedhsm/\(purpose)".utf8), byteCount: 32)
    }

    public static func == (lhs: Self, rhs: Self) -> Bool { ConstantTime.equals(lhs.key, rhs.key) }

    public init(from decoder: any Decoder) throws {
        guard let bytes = Base64.decode(try decoder.singleValueContainer().decode(String.self)) else {
            throw SecurityDomainFailure.malformed("the stored pool root is not base64url")
        }
        try self.init(bytes: bytes)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(Base64.urlEncoded(key))
    }

    public var description: String { "SecurityDomainRoot(redacted)" }
    public var debugDescription: String { description }
    public var customMirror: Mirror { Mirror(self, children: [:], displayStyle: .struct) }
}

/// How a pool becomes usable: it is created *not activated*; downloading its security domain (or uploading one taken
/// from another pool) starts the activation, which a job then completes (or fails). A failed activation may start
/// again; an active pool never goes back.
public enum PoolActivation: Sendable, Equatable, Codable {
    case notActivated
    case activating(ActivationSource, since: Int64)
    case active(since: Int64)
    case failed(reason: String, at: Int64)

    public enum ActivationSource: String, Sendable, Codable {
        /// The pool's own security domain was made and handed out.
        case download
        /// Another pool's security domain was received.
        case upload
    }

    public enum Event: Sendable, Equatable {
        case begin(ActivationSource)
        case complete
        case fail(reason: String)
    }

    /// The state after `event` at `time`; a `CoffreError.conflict` (or ``ManagedHSMError/alreadyActivated``) for an
    /// event the state does not accept.
    public func applying(_ event: Event, at time: Int64, pool: ManagedHSMName) throws -> PoolActivation {
        switch (self, event) {
        case (.notActivated, .begin(let source)), (.failed, .begin(let source)):
            return .activating(source, since: time)
        case (.activating(let current, _), .begin):
            throw CoffreError.conflict("A security domain \(current.rawValue) is already activating the Managed HSM pool \(pool).")
        case (.active, .begin):
            throw ManagedHSMError.alreadyActivated(pool.value)
        case (.activating, .complete):
            return .active(since: time)
        case (.activating, .fail(let reason)):
            return .failed(reason: reason, at: time)
        case (_, .complete), (_, .fail):
            throw CoffreError.conflict("The Managed HSM pool \(pool) has no activation in progress.")
        }
    }

    public var isActive: Bool {
        if case .active = self { return true }
        return false
    }
}

/// A pool as an Azure resource (`Microsoft.KeyVault/managedHSMs`): its group, location and tags.
public struct ManagedHSMResource: Codable, Sendable, Equatable {
    public var resourceGroup: String
    public var location: String
    public var tags: [String: String]?

    public init(resourceGroup: String, location: String, tags: [String: String]?) {
        self.resourceGroup = resourceGroup
        self.location = location
        self.tags = tags
    }
}

/// A Managed HSM pool (stored under `sys/hsms/{name}`).
public struct ManagedHSMPool: Codable, Sendable, Equatable, ResourceGroupMember {
    public var name: ManagedHSMName
    public var tenantId: String
    /// The object ids named at creation (Azure's `initialAdminObjectIds`); each was given Administrator at `/`.
    public var administrators: [String]
    /// Days a deleted key stays recoverable (7–90).
    public var retentionDays: Int
    public var purgeProtection: Bool
    public var created: Int64
    public var activation: PoolActivation
    /// Set when an activation begins (made by a download, received by an upload); kept from then on.
    public var securityDomain: SecurityDomainRoot?
    /// Where Azure Resource Manager shows the pool; nil for pools made by `coffre hsm create` (group `default`).
    public var resource: ManagedHSMResource? = nil

    public static let retentionRange = VaultRecord.retentionRange

    /// The pool's resource group.
    public var group: String { resource?.resourceGroup ?? VaultRecord.defaultResourceGroup }

    public var recoveryLevel: RecoveryLevel {
        RecoveryLevel(retentionDays: retentionDays, purgeProtection: purgeProtection)
    }

    /// The pool as the key service sees a vault: its keys' namespace, retention and purge protection (local RBAC
    /// authorises its requests, never access policies).
    public var keyVault: VaultRecord {
        // Pool names follow the vault names' rules (ManagedHSMName checks them with VaultName).
        VaultRecord(
            name: try! VaultName(name.value), created: created, retentionDays: retentionDays, purgeProtection: purgeProtection,
            rbacAuthorization: true)
    }

    /// The pool's root when the pool is active; ``ManagedHSMError/notActivated`` otherwise.
    public func requireActive() throws -> SecurityDomainRoot {
        guard activation.isActive, let securityDomain else { throw ManagedHSMError.notActivated(name.value) }
        return securityDomain
    }
}
