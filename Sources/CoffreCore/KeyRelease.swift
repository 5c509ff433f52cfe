import CoffreAuth
import CoffreCrypto
import CoffreJSON
import CoffreKeyCustody
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
        if let any = node["anyOf"]?.array { return .any(try any.map(condition)) }
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

/// What key release needs from outside Core: who verifies attestation tokens (against the release policy's
/// authorities) and who signs the release statement.
public struct KeyReleaseAuthority: Sendable {
    public var attestation: AttestationVerifier
    public var signer: any KeyReleaseSigner

    public init(attestation: AttestationVerifier, signer: any KeyReleaseSigner) {
        self.attestation = attestation
        self.signer = signer
    }
}

/// Signs a key release statement (as a JWS the client verifies with the server's published keys).
public protocol KeyReleaseSigner: Sendable {
    func sign(_ statement: KeyReleaseStatement) throws -> String
}

/// What a release answers: the key version, its public JWK carrying the private key wrapped to the attested runtime
/// (`key_hsm`), and the request it answers.
public struct KeyReleaseStatement: Sendable {
    public var vault: VaultRecord
    public var key: Versioned<KeyVersion>
    /// The public JWK with `key_hsm`: the private key wrapped per `encryption`.
    public var releasedKey: JsonWebKey
    public var encryption: String
    public var nonce: String?
    /// The api-version and vault URL the client used, echoed in the statement.
    public var apiVersion: String
    public var vaultURL: String
    public var issuedAt: Int64
}

extension KeyService {
    /// Releases an exportable key version to an attested environment: the attestation token must come from one of
    /// the release policy's authorities and its claims satisfy the policy; the private key is wrapped to the runtime key
    /// the token names, and the statement is signed.
    ///
    /// - Parameters:
    ///   - attestation: the attestation token (the request's `target`).
    ///   - encryption: `CKM_RSA_AES_KEY_WRAP` (the default) or `RSA_AES_KEY_WRAP_256`.
    ///   - vaultURL: the vault's URL as the client wrote it, and `apiVersion` the version it asked for (both echoed).
    public func release(
        in vault: VaultRecord, name: String, version: String?, attestation: String, encryption: String?, nonce: String?, vaultURL: String,
        apiVersion: String
    ) async throws -> String {
        guard let authority = releaseAuthority else {
            throw CoffreError.forbidden(.keyNotExportable, message: "This server releases no keys.")
        }
        let key = try await get(in: vault.name, name: name, version: version)
        let record = key.record
        guard record.exportable == true, let data = record.releasePolicy?.data.flatMap({ Base64.decode($0) }) else {
            throw CoffreError.forbidden(.keyNotExportable, message: "Only exportable keys with a release policy can be released.")
        }
        let policy = try ReleasePolicyDocument(data: data)
        let (issuer, claims) = try await authority.attestation.verify(attestation, authorities: policy.authorities)
        guard record.attributes.enabled else { throw CoffreError.disabled(.key, operation: "release") }
        guard policy.allows(issuer: issuer, claims: claims) else {
            throw CoffreError.forbidden(
                .releasePolicyNotSatisfied, message: "The attestation does not satisfy the key's release policy.")
        }
        let requested = encryption ?? ReleaseEncryption.rsaAESKeyWrap.rawValue
        guard let encryption = ReleaseEncryption(rawValue: requested) else {
            throw CoffreError.badParameter(
                "Key release encryption \(requested) is not supported: use CKM_RSA_AES_KEY_WRAP or RSA_AES_KEY_WRAP_256.")
        }
        let runtimeKey = try Self.runtimeKey(in: claims)
        let custodyKey = try custodyKey(of: key, in: vault.name)
        // The key wrapped where it lives (inside the module for a token key): a fresh AES-256 key wrapped by the runtime
        // RSA key (OAEP), then the key itself wrapped by that AES key (RFC 5649); the two concatenated.
        let wrapped = try await Self.custodial { try await custody.release(custodyKey, to: runtimeKey, encryption: encryption) }
        var jwk = record.publicKey
        jwk.kid = nil
        jwk.keyOps = record.keyOps
        jwk.t = wrapped
        return try authority.signer.sign(
            KeyReleaseStatement(
                vault: vault, key: key, releasedKey: jwk, encryption: encryption.rawValue, nonce: nonce, apiVersion: apiVersion, vaultURL: vaultURL,
                issuedAt: clock.now(in: vault.name)))
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
