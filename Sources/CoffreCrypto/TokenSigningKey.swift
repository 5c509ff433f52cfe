import Crypto
import Foundation

/// A key that signs Coffre's tokens: RS256 (the default), or ES256, whose key is made in microseconds where an RSA
/// key takes tenths of a second or more (ephemeral servers, which must answer within milliseconds of starting).
public enum TokenSigningKey: Sendable {
    case rs256(RSASigningKey)
    case es256(P256.Signing.PrivateKey)

    public static let algorithms = ["RS256", "ES256"]

    /// A new key for `algorithm` (`RS256` or `ES256`).
    public static func generate(_ algorithm: String) throws -> TokenSigningKey {
        switch algorithm {
        case "ES256": .es256(P256.Signing.PrivateKey())
        case "RS256": .rs256(try RSASigningKey.generate())
        default: throw CryptoFailure.unsupported("token signing algorithm \(algorithm)")
        }
    }

    /// A stored key of `algorithm` (DER: PKCS#1 for RSA, SEC 1 or PKCS#8 for P-256).
    public init(algorithm: String, derRepresentation der: [UInt8]) throws {
        switch algorithm {
        case "ES256": self = .es256(try P256.Signing.PrivateKey(derRepresentation: der))
        case "RS256": self = .rs256(try RSASigningKey(derRepresentation: der))
        default: throw CryptoFailure.unsupported("token signing algorithm \(algorithm)")
        }
    }

    public var algorithm: String {
        switch self {
        case .rs256: "RS256"
        case .es256: "ES256"
        }
    }

    public var derRepresentation: [UInt8] {
        switch self {
        case .rs256(let key): key.derRepresentation
        case .es256(let key): Array(key.derRepresentation)
        }
    }

    /// The JWS signature of `message` (ES256: the raw R‖S form JWS uses).
    public func sign(_ message: some DataProtocol) throws -> [UInt8] {
        switch self {
        case .rs256(let key): try key.signRS256(message)
        case .es256(let key): Array(try key.signature(for: message).rawRepresentation)
        }
    }

    /// The public key's JWK members: `kty` and `n`/`e` or `crv`/`x`/`y`, base64url.
    public var publicMembers: (kty: String, members: [String: String]) {
        switch self {
        case .rs256(let key):
            let (modulus, exponent) = key.publicKey.components
            return ("RSA", ["n": Base64.urlEncoded(modulus), "e": Base64.urlEncoded(exponent)])
        case .es256(let key):
            let raw = Array(key.publicKey.rawRepresentation)
            return ("EC", ["crv": "P-256", "x": Base64.urlEncoded(raw.prefix(32)), "y": Base64.urlEncoded(raw.suffix(32))])
        }
    }

    /// A key id derived from the public key.
    public var thumbprintId: String {
        switch self {
        case .rs256(let key): Base64.urlEncoded(Digest.sha256(key.publicKey.components.modulus).prefix(20))
        case .es256(let key): Base64.urlEncoded(Digest.sha256(Array(key.publicKey.rawRepresentation)).prefix(20))
        }
    }
}
