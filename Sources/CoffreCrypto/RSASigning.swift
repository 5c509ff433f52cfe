import Crypto
import Foundation
import _CryptoExtras

/// An RSA key pair for RS256 signatures (token signing), stored as PKCS#8 DER inside the barrier.
public struct RSASigningKey: Sendable {
    private let key: _RSA.Signing.PrivateKey

    public static func generate(bits: Int = 2048) throws -> RSASigningKey {
        RSASigningKey(key: try _RSA.Signing.PrivateKey(keySize: .init(bitCount: bits)))
    }

    public init(derRepresentation: [UInt8]) throws {
        self.key = try _RSA.Signing.PrivateKey(derRepresentation: derRepresentation)
    }

    private init(key: _RSA.Signing.PrivateKey) { self.key = key }

    public var derRepresentation: [UInt8] { Array(key.derRepresentation) }

    public var publicKey: RSAVerifyingKey { RSAVerifyingKey(key: key.publicKey) }

    /// RSASSA-PKCS1-v1_5 with SHA-256.
    public func signRS256(_ message: some DataProtocol) throws -> [UInt8] {
        Array(try key.signature(for: SHA256.hash(data: message), padding: .insecurePKCS1v1_5).rawRepresentation)
    }
}

public struct RSAVerifyingKey: Sendable {
    fileprivate let key: _RSA.Signing.PublicKey

    fileprivate init(key: _RSA.Signing.PublicKey) { self.key = key }

    public init(modulus: [UInt8], exponent: [UInt8]) throws {
        self.key = try _RSA.Signing.PublicKey(n: modulus, e: exponent)
    }

    public var components: (modulus: [UInt8], exponent: [UInt8]) {
        let parts = try! key.getKeyPrimitives()
        return (Array(parts.modulus), Array(parts.publicExponent))
    }

    public func verifyRS256(signature: [UInt8], message: some DataProtocol) -> Bool {
        key.isValidSignature(
            _RSA.Signing.RSASignature(rawRepresentation: signature), for: SHA256.hash(data: message), padding: .insecurePKCS1v1_5)
    }
}
