/// Key Vault's `JsonWebKeyType` (`kty`). The `-HSM` variants name the same families; the distinction is kept so that
/// a key reports the type it was created or imported with.
public enum KeyType: String, Codable, Sendable, CaseIterable {
    case rsa = "RSA"
    case rsaHSM = "RSA-HSM"
    case ec = "EC"
    case ecHSM = "EC-HSM"
    case oct = "oct"
    case octHSM = "oct-HSM"

    /// The key family, with the `-HSM` distinction removed.
    public enum Family: Sendable {
        case rsa, ec, oct
    }

    public var family: Family {
        switch self {
        case .rsa, .rsaHSM: .rsa
        case .ec, .ecHSM: .ec
        case .oct, .octHSM: .oct
        }
    }

    public var isHSM: Bool { self == .rsaHSM || self == .ecHSM || self == .octHSM }
}

/// Key Vault's `JsonWebKeyCurveName` (`crv`).
public enum CurveName: String, Codable, Sendable, CaseIterable {
    case p256 = "P-256"
    case p256k = "P-256K"
    case p384 = "P-384"
    case p521 = "P-521"

    /// Length of a coordinate, of the private scalar and of each half of an R‖S signature.
    public var coordinateByteCount: Int {
        switch self {
        case .p256, .p256k: 32
        case .p384: 48
        case .p521: 66
        }
    }

    /// The signature algorithm of the curve (`ES256`, `ES256K`, `ES384`, `ES512`).
    public var signatureAlgorithm: String {
        switch self {
        case .p256: "ES256"
        case .p256k: "ES256K"
        case .p384: "ES384"
        case .p521: "ES512"
        }
    }

    /// Length of the digest the curve's algorithm signs (SHA-256, SHA-384, SHA-512).
    var digestByteCount: Int {
        switch self {
        case .p256, .p256k: 32
        case .p384: 48
        case .p521: 64
        }
    }

    /// The curve of a new EC key: the one named, else the one of `size` bits, else P-256.
    public static func chosen(curve: CurveName?, size: Int?) throws -> CurveName {
        if let curve { return curve }
        guard let size else { return .p256 }
        guard let curve = CurveName(bits: size) else {
            throw CryptoFailure.unsupported("EC keys can be 256, 384 or 521 bits, not \(size)")
        }
        return curve
    }

    /// The curve of a `key_size` in bits when no curve is named (256 is taken as P-256, never P-256K).
    init?(bits: Int) {
        switch bits {
        case 256: self = .p256
        case 384: self = .p384
        case 521: self = .p521
        default: return nil
        }
    }
}

/// What kind of key to generate (Key Vault's `kty`, `key_size`, `crv`, `public_exponent`).
public struct KeySpec: Sendable, Equatable {
    public var type: KeyType
    /// RSA: 2048, 3072 or 4096 bits; oct: 128, 192 or 256; EC without a curve: 256, 384 or 521.
    public var size: Int?
    public var curve: CurveName?
    public var publicExponent: Int?

    public init(type: KeyType, size: Int? = nil, curve: CurveName? = nil, publicExponent: Int? = nil) {
        self.type = type
        self.size = size
        self.curve = curve
        self.publicExponent = publicExponent
    }
}
