import CoffreCore
import CoffreCrypto
import CoffreJSON
import CoffreModel

struct WireReleasePolicy: Codable, JSONFieldsEncodable, Sendable {
    var contentType: String?
    var immutable: Bool?
    var data: String?

    func writeFields(_ object: inout JSONObjectWriter) throws {
        try object.field("contentType", contentType)
        try object.field("immutable", immutable)
        try object.field("data", data)
    }

    init(_ policy: KeyReleasePolicy) {
        contentType = policy.contentType
        immutable = policy.immutable
        data = policy.data
    }

    var model: KeyReleasePolicy {
        KeyReleasePolicy(contentType: contentType ?? "application/json; charset=utf-8", immutable: immutable, data: data)
    }
}

struct KeyCreateParameters: FlatJSONDecodable {
    var kty: String?
    var key_size: Int?
    var public_exponent: Int?
    var key_ops: [String]?
    var attributes: WireAttributes?
    var tags: [String: String]?
    var crv: String?
    var release_policy: WireReleasePolicy?

    /// The usual body of a new key: `kty` and perhaps `crv`.
    init?(flat members: [String: String]) {
        guard members.lacks("key_size", "public_exponent", "key_ops", "attributes", "tags", "release_policy") else { return nil }
        (kty, crv) = (members["kty"], members["crv"])
    }
}

struct KeyImportParameters: Decodable {
    var key: JsonWebKey?
    var Hsm: Bool?
    var attributes: WireAttributes?
    var tags: [String: String]?
    var release_policy: WireReleasePolicy?
}

struct KeyUpdateParameters: Decodable {
    var key_ops: [String]?
    var attributes: WireAttributes?
    var tags: [String: String]?
    var release_policy: WireReleasePolicy?
}

struct KeyBundle: JSONFieldsEncodable {
    var key: JsonWebKey
    var attributes: WireAttributes
    var tags: [String: String]?
    var managed: Bool?
    var release_policy: WireReleasePolicy?
    var deletion: WireDeletion?

    init(_ key: Versioned<KeyVersion>, vault: VaultRecord, url: VaultURL) {
        let record = key.record
        var jwk = record.publicKey
        jwk.kid = url.object(.key, key.name, version: record.version)
        jwk.keyOps = record.keyOps
        self.key = jwk
        attributes = WireAttributes(record.attributes, vault: vault)
        attributes.exportable = record.exportable ?? false
        attributes.hsmPlatform = record.keyType.isHSM ? "0" : nil
        tags = record.tags
        managed = record.managed
        release_policy = record.releasePolicy.map(WireReleasePolicy.init)
        deletion = WireDeletion(key.deletion, of: .key, named: key.name, url: url)
    }

    func writeFields(_ object: inout JSONObjectWriter) throws {
        try object.field("key", key)
        try object.field("attributes", attributes)
        try object.field("tags", tags)
        try object.field("managed", managed)
        try object.field("release_policy", release_policy)
        try deletion?.writeFields(&object)
    }
}

struct KeyItem: JSONFieldsEncodable {
    var kid: String
    var attributes: WireAttributes
    var tags: [String: String]?
    var managed: Bool?
    var deletion: WireDeletion?

    init(head: KeyService.Item, vault: VaultRecord, url: VaultURL) {
        kid = url.object(.key, head.name)
        attributes = WireAttributes(head.summary.attributes, vault: vault)
        attributes.exportable = head.summary.exportable ?? false
        tags = head.summary.tags
        managed = head.summary.managed
        deletion = WireDeletion(head.deletion, of: .key, named: head.name, url: url)
    }

    init(version: Versioned<KeyVersion>, vault: VaultRecord, url: VaultURL) {
        kid = url.object(.key, version.name, version: version.record.version)
        attributes = WireAttributes(version.record.attributes, vault: vault)
        attributes.exportable = version.record.exportable ?? false
        tags = version.record.tags
        managed = version.record.managed
    }

    func writeFields(_ object: inout JSONObjectWriter) throws {
        try object.field("kid", kid)
        try object.field("attributes", attributes)
        try object.field("tags", tags)
        try object.field("managed", managed)
        try deletion?.writeFields(&object)
    }
}

/// `KeyOperationsParameters` (encrypt, decrypt, wrapKey, unwrapKey); binary members are base64url.
struct KeyOperationParameters: FlatJSONDecodable, Equatable {
    var alg: String?
    var value: String?
    var iv: String?
    var aad: String?
    var tag: String?

    init(flat members: [String: String]) {
        (alg, value, iv, aad, tag) = (members["alg"], members["value"], members["iv"], members["aad"], members["tag"])
    }
}

/// `KeySignParameters`; also what wrapKey and unwrapKey read of `KeyOperationsParameters` (only `alg` and `value`).
struct KeySignParameters: FlatJSONDecodable, Equatable {
    var alg: String?
    var value: String?

    init(flat members: [String: String]) { (alg, value) = (members["alg"], members["value"]) }
}

struct KeyVerifyParameters: FlatJSONDecodable, Equatable {
    var alg: String?
    var digest: String?
    var value: String?

    init(flat members: [String: String]) { (alg, digest, value) = (members["alg"], members["digest"], members["value"]) }
}

struct KeyOperationResult: JSONFieldsEncodable {
    var kid: String
    var value: String
    var iv: String?
    var tag: String?
    var aad: String?

    func writeFields(_ object: inout JSONObjectWriter) throws {
        try object.field("kid", kid)
        try object.field("value", value)
        try object.field("iv", iv)
        try object.field("tag", tag)
        try object.field("aad", aad)
    }
}

struct KeyVerifyResult: Encodable {
    var value: Bool
}

struct WireRotationPolicy: Codable {
    struct Trigger: Codable {
        var timeAfterCreate: String?
        var timeBeforeExpiry: String?
    }

    struct Action: Codable {
        var type: String
    }

    struct LifetimeAction: Codable {
        var trigger: Trigger
        var action: Action
    }

    struct Attributes: Codable {
        var expiryTime: String?
        var created: IntDate?
        var updated: IntDate?
    }

    var id: String?
    var lifetimeActions: [LifetimeAction]?
    var attributes: Attributes?

    init(_ policy: KeyRotationPolicy, id: String) {
        self.id = id
        lifetimeActions = policy.lifetimeActions.map {
            LifetimeAction(
                trigger: Trigger(timeAfterCreate: $0.timeAfterCreate, timeBeforeExpiry: $0.timeBeforeExpiry), action: Action(type: $0.action))
        }
        attributes = Attributes(expiryTime: policy.expiryTime, created: policy.created.map(IntDate.init), updated: policy.updated.map(IntDate.init))
    }

    var model: KeyRotationPolicy {
        KeyRotationPolicy(
            lifetimeActions: (lifetimeActions ?? []).map {
                .init(timeAfterCreate: $0.trigger.timeAfterCreate, timeBeforeExpiry: $0.trigger.timeBeforeExpiry, action: $0.action.type)
            },
            expiryTime: attributes?.expiryTime)
    }
}

struct RandomBytesRequest: Decodable {
    var count: Int?
}
