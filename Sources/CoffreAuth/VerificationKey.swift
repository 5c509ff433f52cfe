import CoffreCrypto
import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// A public key that verifies JWS signatures: tokens of trusted issuers, and client assertions signed with a
/// principal's certificate.
public enum VerificationKey: Sendable {
    case rsa(_RSA.Signing.PublicKey)
    case p256(P256.Signing.PublicKey)
    case p384(P384.Signing.PublicKey)
    case p521(P521.Signing.PublicKey)

    /// From a JWK's public members (`kty` RSA with `n`/`e`, or EC with `crv`/`x`/`y`); `nil` for anything else.
    public init?(jwk: JWKSet.Key) {
        switch jwk.kty {
        case "RSA":
            guard let n = jwk.n.flatMap({ Base64.decode($0) }), let e = jwk.e.flatMap({ Base64.decode($0) }),
                let key = try? _RSA.Signing.PublicKey(n: n, e: e)
            else { return nil }
            self = .rsa(key)
        case "EC":
            guard let x = jwk.x.flatMap({ Base64.decode($0) }), let y = jwk.y.flatMap({ Base64.decode($0) }) else {
                return nil
            }
            let raw = x + y
            switch jwk.crv {
            case "P-256":
                guard let key = try? P256.Signing.PublicKey(rawRepresentation: raw) else { return nil }
                self = .p256(key)
            case "P-384":
                guard let key = try? P384.Signing.PublicKey(rawRepresentation: raw) else { return nil }
                self = .p384(key)
            case "P-521":
                guard let key = try? P521.Signing.PublicKey(rawRepresentation: raw) else { return nil }
                self = .p521(key)
            default: return nil
            }
        default:
            return nil
        }
    }

    /// The key of an X.509 certificate (RSA or EC).
    public init(certificate: Certificate) throws {
        if let key = _RSA.Signing.PublicKey(certificate.publicKey) {
            self = .rsa(key)
        } else if let key = P256.Signing.PublicKey(certificate.publicKey) {
            self = .p256(key)
        } else if let key = P384.Signing.PublicKey(certificate.publicKey) {
            self = .p384(key)
        } else if let key = P521.Signing.PublicKey(certificate.publicKey) {
            self = .p521(key)
        } else {
            throw OAuthError.invalidClient("AADSTS700027: The certificate's key type is not supported (use RSA or EC P-256/384/521).")
        }
    }

    /// Whether `signature` is a valid JWS signature of `signingInput` with algorithm `alg` (RS/PS/ES 256/384/512).
    public func verify(alg: String, signingInput: [UInt8], signature: [UInt8]) -> Bool {
        switch (self, alg) {
        case (.rsa(let key), "RS256"): rsa(key, SHA256.hash(data: signingInput), signature, .insecurePKCS1v1_5)
        case (.rsa(let key), "RS384"): rsa(key, SHA384.hash(data: signingInput), signature, .insecurePKCS1v1_5)
        case (.rsa(let key), "RS512"): rsa(key, SHA512.hash(data: signingInput), signature, .insecurePKCS1v1_5)
        case (.rsa(let key), "PS256"): rsa(key, SHA256.hash(data: signingInput), signature, .PSS)
        case (.rsa(let key), "PS384"): rsa(key, SHA384.hash(data: signingInput), signature, .PSS)
        case (.rsa(let key), "PS512"): rsa(key, SHA512.hash(data: signingInput), signature, .PSS)
        case (.p256(let key), "ES256"):
            (try? P256.Signing.ECDSASignature(rawRepresentation: signature)).map { key.isValidSignature($0, for: signingInput) } ?? false
        case (.p384(let key), "ES384"):
            (try? P384.Signing.ECDSASignature(rawRepresentation: signature)).map { key.isValidSignature($0, for: signingInput) } ?? false
        case (.p521(let key), "ES512"):
            (try? P521.Signing.ECDSASignature(rawRepresentation: signature)).map { key.isValidSignature($0, for: signingInput) } ?? false
        default: false
        }
    }

    private func rsa(_ key: _RSA.Signing.PublicKey, _ digest: some Crypto.Digest, _ signature: [UInt8], _ padding: _RSA.Signing.Padding) -> Bool {
        key.isValidSignature(_RSA.Signing.RSASignature(rawRepresentation: signature), for: digest, padding: padding)
    }
}

/// A JSON Web Key Set (`{"keys": [...]}`), as published by OpenID Connect providers.
public struct JWKSet: Codable, Sendable {
    public struct Key: Codable, Sendable {
        public var kty: String
        public var kid: String?
        public var use: String?
        public var alg: String?
        public var n: String?
        public var e: String?
        public var crv: String?
        public var x: String?
        public var y: String?
        /// Certificate chain (standard base64 DER), as Azure Attestation publishes its keys.
        public var x5c: [String]?

        public init(
            kty: String, kid: String? = nil, use: String? = nil, alg: String? = nil, n: String? = nil, e: String? = nil,
            crv: String? = nil, x: String? = nil, y: String? = nil
        ) {
            self.kty = kty
            self.kid = kid
            self.use = use
            self.alg = alg
            self.n = n
            self.e = e
            self.crv = crv
            self.x = x
            self.y = y
        }
    }

    public var keys: [Key]

    public init(keys: [Key]) { self.keys = keys }

    /// The signature keys by `kid` (keys without a kid, or not for signatures, are left out).
    public var verificationKeys: [String: VerificationKey] {
        var result: [String: VerificationKey] = [:]
        for key in keys where key.use == nil || key.use == "sig" {
            guard let kid = key.kid else { continue }
            if let verifier = VerificationKey(jwk: key) {
                result[kid] = verifier
            } else if let first = key.x5c?.first.flatMap({ Base64.decode($0) }),
                let certificate = try? Certificate(derEncoded: first), let verifier = try? VerificationKey(certificate: certificate)
            {
                result[kid] = verifier
            }
        }
        return result
    }

    public static func parse(_ data: [UInt8]) throws -> JWKSet {
        try JSONDecoder().decode(JWKSet.self, from: Data(data))
    }
}
