import CoffreCrypto
import CoffreModel
import Foundation

/// A key release policy document (Azure's Secure Key Release grammar): the key is released when, for one of the
/// `anyOf` entries, the attestation token comes from that `authority` and its claims satisfy every condition.
///
/// What Coffre evaluates: the token's issuer against each `authority`, and `allOf`/`anyOf` trees of conditions
/// `{"claim": "a.b", "equals": value}` (also the older `{"claim", "condition": "equals", "value"}`). Claims are
/// compared as JSON values (strings, numbers, booleans). Other operators are refused, so nothing is released by a
/// condition Coffre does not understand.
public struct ReleasePolicyDocument: Sendable, Equatable {
    indirect enum Condition: Sendable, Equatable {
        case equals(claim: String, value: JSONValue)
        case all([Condition])
        case any([Condition])
    }

    struct Rule: Sendable, Equatable {
        var authority: String
        var condition: Condition
    }

    let rules: [Rule]

    public init(data: [UInt8]) throws {
        guard let document = try? JSONDecoder().decode(JSONValue.self, from: Data(data)) else {
            throw CoffreError.badParameter("The key release policy is not a JSON document.")
        }
        guard let anyOf = document["anyOf"]?.array, !anyOf.isEmpty else {
            throw CoffreError.badParameter("The key release policy needs an 'anyOf' list of authorities.")
        }
        rules = try anyOf.map { entry in
            guard let authority = entry["authority"]?.string else {
                throw CoffreError.badParameter("Each 'anyOf' entry of a key release policy needs an 'authority'.")
            }
            return Rule(authority: Self.normalised(authority), condition: try Self.condition(entry))
        }
    }

    /// The authorities whose attestation tokens may satisfy the policy.
    public var authorities: [String] { rules.map(\.authority) }

    /// Whether a token from `issuer` with these claims satisfies the policy.
    public func allows(issuer: String, claims: JSONValue) -> Bool {
        rules.contains { $0.authority == Self.normalised(issuer) && Self.holds($0.condition, claims) }
    }

    static func normalised(_ authority: String) -> String {
        authority.hasSuffix("/") ? String(authority.dropLast()) : authority
    }

    static func condition(_ node: JSONValue) throws -> Condition {
        if let all = node["allOf"]?.array { return .all(try all.map(condition)) }
        if let any = node["anyOf"]?.array, node["authority"] == nil { return .any(try any.map(condition)) }
        guard let claim = node["claim"]?.string else {
            if node["authority"] != nil { return .all([]) }
            throw CoffreError.badParameter("A key release policy condition needs 'claim' and 'equals'.")
        }
        if let value = node["equals"] { return .equals(claim: claim, value: value) }
        if node["condition"]?.string?.lowercased() == "equals", let value = node["value"] { return .equals(claim: claim, value: value) }
        throw CoffreError.badParameter("Coffre evaluates only 'equals' conditions in key release policies (claim \(claim)).")
    }

    static func holds(_ condition: Condition, _ claims: JSONValue) -> Bool {
        switch condition {
        case .all(let conditions): conditions.allSatisfy { holds($0, claims) }
        case .any(let conditions): conditions.contains { holds($0, claims) }
        case .equals(let claim, let value):
            claims.value(at: claim).map { equal($0, value) } ?? false
        }
    }

    /// Strings compare case-sensitively; a boolean or number also matches its string spelling ("true", "2").
    static func equal(_ claim: JSONValue, _ expected: JSONValue) -> Bool {
        switch (claim, expected) {
        case (.bool(let a), .string(let b)): String(a) == b.lowercased()
        case (.string(let a), .bool(let b)): a.lowercased() == String(b)
        case (.number(let a), .string(let b)): Double(b) == a
        case (.string(let a), .number(let b)): Double(a) == b
        default: claim == expected
        }
    }
}

extension KeyService {
    /// A key released to an attested environment: the private key wrapped to the runtime key named in the
    /// attestation token.
    public struct ReleasedKey: Sendable {
        public var key: Versioned<KeyVersion>
        /// The public JWK with `key_hsm`: the private key wrapped per `enc`.
        public var jwk: JsonWebKey
        public var encryption: String
    }

    /// Releases an exportable key version when the attestation token's claims satisfy its release policy.
    /// The token's signature and issuer were verified by the caller (against the policy's authorities).
    public func release(
        in vault: VaultName, name: String, version: String?, issuer: String, claims: JSONValue, encryption: String?
    ) async throws -> ReleasedKey {
        let key = try await get(in: vault, name: name, version: version)
        let record = key.record
        guard record.exportable == true, let policy = record.releasePolicy, let data = policy.data.flatMap({ Base64.decode($0) }) else {
            throw CoffreError.forbidden(innerCode: "KeyNotExportable", message: "Only exportable keys with a release policy can be released.")
        }
        guard record.attributes.enabled else { throw CoffreError.disabled(.key, operation: "release") }
        guard try ReleasePolicyDocument(data: data).allows(issuer: issuer, claims: claims) else {
            throw CoffreError.forbidden(
                innerCode: "KeyReleasePolicyNotSatisfied", message: "The attestation does not satisfy the key's release policy.")
        }
        let encryption = encryption ?? "CKM_RSA_AES_KEY_WRAP"
        let oaep: String =
            switch encryption {
            case "CKM_RSA_AES_KEY_WRAP": "RSA-OAEP"
            case "RSA_AES_KEY_WRAP_256": "RSA-OAEP-256"
            default:
                throw CoffreError.badParameter(
                    "Key release encryption \(encryption) is not supported: use CKM_RSA_AES_KEY_WRAP or RSA_AES_KEY_WRAP_256.")
            }
        let runtimeKey = try Self.runtimeKey(in: claims)
        guard let bytes = Base64.decode(record.material) else { throw CoffreError.badParameter("The key material cannot be read.") }
        let material = try KeyMaterial(storedRepresentation: bytes)
        let secret = material.keyType.family == .oct ? (material.privateJWK().k ?? []) : try material.pkcs8DER
        // CKM_RSA_AES_KEY_WRAP: a fresh AES-256 key wrapped by the runtime RSA key (OAEP), then the key itself wrapped
        // by that AES key (AES key wrap with padding, RFC 5649); the two concatenated.
        let transient = try KeyMaterial(importing: JsonWebKey(kty: .oct, k: SecureRandom.bytes(32)))
        let wrapped = try Self.crypto {
            try runtimeKey.encrypt(oaep, plaintext: transient.privateJWK().k ?? []) + (try transient.wrapKey("CKM_AES_KEY_WRAP_PAD", key: secret))
        }
        var jwk = record.publicKey
        jwk.kid = nil
        jwk.keyOps = record.keyOps
        jwk.t = wrapped
        return ReleasedKey(key: key, jwk: jwk, encryption: encryption)
    }

    /// The RSA public key of the attested runtime (`x-ms-runtime.keys`, also under `x-ms-isolation-tee`).
    static func runtimeKey(in claims: JSONValue) throws -> PublicKeyMaterial {
        let candidates =
            (claims.value(at: "x-ms-runtime.keys")?.array ?? []) + (claims.value(at: "x-ms-isolation-tee.x-ms-runtime.keys")?.array ?? [])
        for candidate in candidates where candidate["kty"]?.string == "RSA" {
            if let data = try? JSONEncoder().encode(candidate), let jwk = try? JSONDecoder().decode(JsonWebKey.self, from: data),
                let key = try? PublicKeyMaterial(jwk: jwk)
            {
                return key
            }
        }
        throw CoffreError.badParameter("The attestation token carries no RSA runtime key (x-ms-runtime.keys) to release the key to.")
    }
}
