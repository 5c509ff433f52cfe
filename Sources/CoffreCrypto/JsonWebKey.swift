import CoffreJSON
import CoffreModel

/// Key Vault's `JsonWebKey`, as it travels on the wire.
///
/// Binary members are base64url without padding when encoded; decoding also accepts padding and the standard
/// alphabet, as clients differ. `kty` and `crv` keep the wire strings, so that an unknown type or curve reaches
/// ``KeyMaterial/init(importing:)`` and its `invalidKey` error instead of failing to decode.
///
/// The private members (`d`, `p`, `q`, `dp`, `dq`, `qi`, `k`, `key_hsm`) never appear in `description`, `debugDescription`
/// or `dump`.
public struct JsonWebKey: Codable, Sendable, Equatable {
    public var kid: String?
    public var kty: String?
    public var keyOps: [String]?
    public var n: [UInt8]?
    public var e: [UInt8]?
    public var d: [UInt8]?
    public var dp: [UInt8]?
    public var dq: [UInt8]?
    public var qi: [UInt8]?
    public var p: [UInt8]?
    public var q: [UInt8]?
    public var k: [UInt8]?
    /// `key_hsm`: the protected key blob of a BYOK import.
    public var t: [UInt8]?
    public var crv: String?
    public var x: [UInt8]?
    public var y: [UInt8]?

    public init(
        kid: String? = nil,
        kty: KeyType? = nil,
        keyOps: [String]? = nil,
        n: [UInt8]? = nil,
        e: [UInt8]? = nil,
        d: [UInt8]? = nil,
        dp: [UInt8]? = nil,
        dq: [UInt8]? = nil,
        qi: [UInt8]? = nil,
        p: [UInt8]? = nil,
        q: [UInt8]? = nil,
        k: [UInt8]? = nil,
        t: [UInt8]? = nil,
        crv: CurveName? = nil,
        x: [UInt8]? = nil,
        y: [UInt8]? = nil
    ) {
        self.kid = kid
        self.kty = kty?.rawValue
        self.keyOps = keyOps
        self.n = n
        self.e = e
        self.d = d
        self.dp = dp
        self.dq = dq
        self.qi = qi
        self.p = p
        self.q = q
        self.k = k
        self.t = t
        self.crv = crv?.rawValue
        self.x = x
        self.y = y
    }

    /// `kty` as a known type; `nil` when absent or unknown.
    public var keyType: KeyType? { kty.flatMap(KeyType.init(rawValue:)) }

    /// `crv` as a known curve; `nil` when absent or unknown.
    public var curve: CurveName? { crv.flatMap(CurveName.init(rawValue:)) }

    /// `kty` as a known type, or the `invalidKey` error an import reports.
    func requireKeyType() throws -> KeyType {
        guard let kty else { throw CryptoFailure.invalidKey("JSON Web Key: kty is missing") }
        guard let type = KeyType(rawValue: kty) else {
            throw CryptoFailure.invalidKey("JSON Web Key: the key type is not supported")
        }
        return type
    }

    /// Whether any private member is present.
    public var hasPrivateMaterial: Bool { !privateMemberNames.isEmpty }

    private var privateMemberNames: [String] {
        [("d", d), ("dp", dp), ("dq", dq), ("qi", qi), ("p", p), ("q", q), ("k", k), ("key_hsm", t)]
            .compactMap { $0.1 == nil ? nil : $0.0 }
    }

    enum CodingKeys: String, CodingKey {
        case kid, kty, n, e, d, dp, dq, qi, p, q, k, crv, x, y
        case keyOps = "key_ops"
        case t = "key_hsm"
    }

    private static let binaryKeys: [(CodingKeys, any WritableKeyPath<JsonWebKey, [UInt8]?> & Sendable)] = [
        (.n, \.n), (.e, \.e), (.d, \.d), (.dp, \.dp), (.dq, \.dq), (.qi, \.qi), (.p, \.p), (.q, \.q),
        (.k, \.k), (.t, \.t), (.x, \.x), (.y, \.y),
    ]

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init()
        kid = try container.decodeIfPresent(String.self, forKey: .kid)
        kty = try container.decodeIfPresent(String.self, forKey: .kty)
        keyOps = try container.decodeIfPresent([String].self, forKey: .keyOps)
        crv = try container.decodeIfPresent(String.self, forKey: .crv)
        for (key, path) in Self.binaryKeys {
            guard let text = try container.decodeIfPresent(String.self, forKey: key) else { continue }
            guard let bytes = Base64.decode(text) else {
                throw DecodingError.dataCorruptedError(
                    forKey: key, in: container, debugDescription: "JSON Web Key: \(key.rawValue) is not valid base64url")
            }
            self[keyPath: path] = bytes
        }
    }
}

extension JsonWebKey: JSONFieldsEncodable {
    /// Binary members as base64url.
    public func writeFields(_ object: inout JSONObjectWriter) throws {
        try object.field("kid", kid)
        try object.field("kty", kty)
        if let keyOps { try object.field("key_ops", elements: keyOps) }
        try object.field("crv", crv)
        for (key, path) in Self.binaryKeys {
            try object.field(key.rawValue, self[keyPath: path].map { Base64.urlEncoded($0) })
        }
    }
}

extension JsonWebKey: CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    public var description: String {
        var parts = ["kty: \(kty ?? "nil")"]
        if let crv { parts.append("crv: \(crv)") }
        if let kid { parts.append("kid: \(kid)") }
        let hidden = privateMemberNames
        if !hidden.isEmpty { parts.append("private members redacted: \(hidden.joined(separator: ", "))") }
        return "JsonWebKey(\(parts.joined(separator: ", ")))"
    }

    public var debugDescription: String { description }

    /// Only the public members, so that `dump` and debuggers do not print private key material.
    public var customMirror: Mirror {
        Mirror(
            self,
            children: [
                "kid": kid as Any, "kty": kty as Any, "key_ops": keyOps as Any, "crv": crv as Any,
                "n": n as Any, "e": e as Any, "x": x as Any, "y": y as Any,
            ], displayStyle: .struct)
    }
}
