import CoffreCrypto

/// A key as its custody knows it, and what the barrier keeps of it (``storedRepresentation``).
public enum CustodyKey: Sendable {
    /// The private key itself, kept sealed in the barrier with the key's record.
    case software(KeyMaterial)
    /// An object in a PKCS#11 token: its reference and public part; the private part never leaves the token.
    case token(TokenKey)

    /// The key's type, curve and size: the material's, or the token key's public part's.
    private var shape: any KeyShape {
        switch self {
        case .software(let material): material
        case .token(let key): key.publicKey
        }
    }

    public var keyType: KeyType { shape.keyType }

    public var curve: CurveName? { shape.curve }

    /// The RSA modulus size or the oct key size, in bits; `nil` for EC keys.
    public var sizeInBits: Int? { shape.sizeInBits }

    /// The public half of an RSA or EC key; `nil` for oct keys.
    public var publicKey: PublicKeyMaterial? {
        switch self {
        case .software(let material): material.publicKey
        case .token(let key): key.publicKey
        }
    }

    /// The public JWK (never a private member).
    public func publicJWK() -> JsonWebKey {
        switch self {
        case .software(let material): material.publicJWK()
        case .token(let key): key.publicKey.jwk
        }
    }

    /// The operations and algorithms the key supports.
    public var supportedAlgorithms: SupportedAlgorithms {
        KeyMaterial.algorithms(for: keyType, curve: curve, size: keyType.family == .oct ? sizeInBits : nil)
    }

    /// What the barrier stores: a software key's stored material (`"CK"`…, unchanged from before custodies existed) or a
    /// token key's reference (`"CT"`…).
    public var storedRepresentation: [UInt8] {
        switch self {
        case .software(let material): material.storedRepresentation
        case .token(let key): key.storedRepresentation
        }
    }

    public init(storedRepresentation stored: [UInt8]) throws {
        if TokenKey.isStoredRepresentation(stored) {
            self = .token(try TokenKey(storedRepresentation: stored))
        } else {
            self = .software(try KeyMaterial(storedRepresentation: stored))
        }
    }
}

/// A private key object in a PKCS#11 token, as Coffre refers to it.
///
/// The object is found by its `CKA_ID` (16 random bytes chosen when it was made, unique in the token); its `CKA_LABEL`
/// names the Coffre key version for people reading the token (`pkcs11-tool --list-objects`). The public part is kept
/// here, so public operations (verify, encrypt, wrap) and the key's JWK need no call to the module.
public struct TokenKey: Sendable {
    /// `CKA_ID` of the private key object.
    public let objectID: [UInt8]
    /// `CKA_LABEL` of the private key object.
    public let label: String
    public let publicKey: PublicKeyMaterial
    public let policy: KeyPolicy

    init(objectID: [UInt8], label: String, publicKey: PublicKeyMaterial, policy: KeyPolicy) {
        self.objectID = objectID
        self.label = label
        self.publicKey = publicKey
        self.policy = policy
    }

    // MARK: - Stored form

    /// `"CT"`, format version 1, then JSON: the object's id and label, the public JWK and the policy. The barrier
    /// authenticates it, so reading it back checks only the format.
    private static let format = TaggedJSON(magic: Array("CT".utf8), version: 1)

    private struct Stored: Codable {
        var id: String
        var label: String
        var jwk: JsonWebKey
        var policy: KeyPolicy
    }

    static func isStoredRepresentation(_ stored: [UInt8]) -> Bool { format.isTagged(stored) }

    var storedRepresentation: [UInt8] {
        Self.format.encode(Stored(id: Base64.urlEncoded(objectID), label: label, jwk: publicKey.jwk, policy: policy))
    }

    init(storedRepresentation stored: [UInt8]) throws {
        guard let decoded = Self.format.decode(Stored.self, from: stored), let objectID = Base64.decode(decoded.id), !objectID.isEmpty
        else { throw CryptoFailure.invalidKey("the stored token key reference is not in a known format") }
        self.init(objectID: objectID, label: decoded.label, publicKey: try PublicKeyMaterial(jwk: decoded.jwk), policy: decoded.policy)
    }
}

extension TokenKey: CustomStringConvertible {
    public var description: String { "TokenKey(\(publicKey.keyType.rawValue), \(label))" }
}

/// What the engine's keys tell of their kind, alike for a private key and a public one.
protocol KeyShape {
    var keyType: KeyType { get }
    var curve: CurveName? { get }
    var sizeInBits: Int? { get }
}

extension KeyMaterial: KeyShape {}
extension PublicKeyMaterial: KeyShape {}
