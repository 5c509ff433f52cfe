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
        case .token(let key): key
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
        case .token(let key): key.publicKey?.jwk ?? JsonWebKey(kty: key.keyType)
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

/// A key object in a PKCS#11 token, as Coffre refers to it: an RSA or EC private key, or an AES key (`oct-HSM`).
///
/// The object is found by its `CKA_ID` (16 random bytes chosen when it was made, unique in the token); its `CKA_LABEL`
/// names the Coffre key version for people reading the token (`pkcs11-tool --list-objects`). The public part of an RSA
/// or EC key is kept here, so public operations (verify, encrypt, wrap) and the key's JWK need no call to the module.
/// An AES key is two secret key objects of one value under one `CKA_ID`: a `CKK_AES` object for encryption and key
/// wrapping and a `CKK_GENERIC_SECRET` object for HMAC (PKCS#11's HMAC mechanisms take generic secrets, not AES keys).
public struct TokenKey: Sendable {
    /// What the token holds: a key pair's private half (whose public half is here) or a secret key.
    public enum Shape: Sendable {
        case keyPair(PublicKeyMaterial)
        /// An `oct-HSM` key of this many bits.
        case secret(KeyType, bits: Int)
    }

    /// `CKA_ID` of the key's objects.
    public let objectID: [UInt8]
    /// `CKA_LABEL` of the key's objects.
    public let label: String
    public let shape: Shape
    public let policy: KeyPolicy

    init(objectID: [UInt8], label: String, shape: Shape, policy: KeyPolicy) {
        self.objectID = objectID
        self.label = label
        self.shape = shape
        self.policy = policy
    }

    init(objectID: [UInt8], label: String, publicKey: PublicKeyMaterial, policy: KeyPolicy) {
        self.init(objectID: objectID, label: label, shape: .keyPair(publicKey), policy: policy)
    }

    /// The public half of an RSA or EC key; `nil` for a secret key.
    public var publicKey: PublicKeyMaterial? {
        guard case .keyPair(let publicKey) = shape else { return nil }
        return publicKey
    }

    // MARK: - Stored form

    /// `"CT"`, format version 1, then JSON: the object's id and label, the public JWK (a secret key's: its `kty` alone,
    /// with its size) and the policy. The barrier authenticates it, so reading it back checks only the format.
    private static let format = TaggedJSON(magic: Array("CT".utf8), version: 1)

    private struct Stored: Codable {
        var id: String
        var label: String
        var jwk: JsonWebKey
        /// A secret key's size in bits.
        var size: Int?
        var policy: KeyPolicy
    }

    static func isStoredRepresentation(_ stored: [UInt8]) -> Bool { format.isTagged(stored) }

    var storedRepresentation: [UInt8] {
        Self.format.encode(Stored(id: Base64.urlEncoded(objectID), label: label, jwk: shape.jwk, size: shape.secretBits, policy: policy))
    }

    init(storedRepresentation stored: [UInt8]) throws {
        guard let decoded = Self.format.decode(Stored.self, from: stored), let objectID = Base64.decode(decoded.id), !objectID.isEmpty
        else { throw CryptoFailure.invalidKey("the stored token key reference is not in a known format") }
        self.init(objectID: objectID, label: decoded.label, shape: try Shape(jwk: decoded.jwk, size: decoded.size), policy: decoded.policy)
    }
}

extension TokenKey.Shape {
    /// The public JWK, or a secret key's JWK with its `kty` alone.
    var jwk: JsonWebKey {
        switch self {
        case .keyPair(let publicKey): publicKey.jwk
        case .secret(let type, _): JsonWebKey(kty: type)
        }
    }

    var secretBits: Int? {
        guard case .secret(_, let bits) = self else { return nil }
        return bits
    }

    /// The shape of a stored ``jwk`` (and a secret key's `size`).
    init(jwk: JsonWebKey, size: Int?) throws {
        guard let type = KeyType(rawValue: jwk.kty ?? ""), type.family == .oct else {
            self = .keyPair(try PublicKeyMaterial(jwk: jwk))
            return
        }
        guard let size, [128, 192, 256].contains(size) else { throw CryptoFailure.invalidKey("a stored secret token key has no valid size") }
        self = .secret(type, bits: size)
    }
}

extension TokenKey: CustomStringConvertible {
    public var description: String { "TokenKey(\(keyType.rawValue), \(label))" }
}

extension TokenKey: KeyShape {
    public var keyType: KeyType {
        switch shape {
        case .keyPair(let publicKey): publicKey.keyType
        case .secret(let type, _): type
        }
    }

    public var curve: CurveName? { publicKey?.curve }

    public var sizeInBits: Int? {
        switch shape {
        case .keyPair(let publicKey): publicKey.sizeInBits
        case .secret(_, let bits): bits
        }
    }
}

/// What the engine's keys tell of their kind, alike for a private key and a public one.
protocol KeyShape {
    var keyType: KeyType { get }
    var curve: CurveName? { get }
    var sizeInBits: Int? { get }
}

extension KeyMaterial: KeyShape {}
extension PublicKeyMaterial: KeyShape {}
