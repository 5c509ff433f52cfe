/// The stored form of a key, for the server to seal in its barrier (this module does not encrypt it).
///
/// Layout, version 1: `"CK"`, the format version, a key-type code, a curve code (0 when none), then the key: PKCS#8 DER
/// for RSA and EC keys, the raw bytes for oct keys. Reading it back checks nothing more than the format: the
/// barrier's authentication guarantees these are bytes this engine wrote.
extension KeyMaterial {
    private static let magic: [UInt8] = [0x43, 0x4B]
    private static let formatVersion: UInt8 = 1
    private static let headerLength = 5

    public var storedRepresentation: [UInt8] {
        let key: [UInt8] =
            switch backing {
            case .rsa(let key): key.pkcs8DER
            case .ec(let key): key.pkcs8DER
            case .oct(let key): key.bytes
            }
        return Self.magic + [Self.formatVersion, Self.code(of: keyType), curve.map(Self.code(of:)) ?? 0] + key
    }

    public init(storedRepresentation stored: [UInt8]) throws {
        guard stored.count > Self.headerLength, Array(stored.prefix(2)) == Self.magic else {
            throw CryptoFailure.invalidKey("the stored key is not in a known format")
        }
        guard stored[2] == Self.formatVersion else {
            throw CryptoFailure.invalidKey("the stored key has an unknown format version \(stored[2])")
        }
        guard let type = KeyType.allCases.first(where: { Self.code(of: $0) == stored[3] }) else {
            throw CryptoFailure.invalidKey("the stored key has an unknown key type")
        }
        let curve = CurveName.allCases.first { Self.code(of: $0) == stored[4] }
        let key = Array(stored.dropFirst(Self.headerLength))
        switch type.family {
        case .rsa:
            self.init(type, .rsa(try RSAPrivateKey(trustedPKCS8: key)))
        case .ec:
            guard let curve else { throw CryptoFailure.invalidKey("the stored key has an unknown curve") }
            self.init(type, .ec(try ECPrivateKey(trustedPKCS8: key, curve: curve)))
        case .oct:
            self.init(type, .oct(try OctKey(bytes: key)))
        }
    }

    /// Codes are part of the stored format: never change one.
    private static func code(of type: KeyType) -> UInt8 {
        switch type {
        case .rsa: 1
        case .rsaHSM: 2
        case .ec: 3
        case .ecHSM: 4
        case .oct: 5
        case .octHSM: 6
        }
    }

    private static func code(of curve: CurveName) -> UInt8 {
        switch curve {
        case .p256: 1
        case .p256k: 2
        case .p384: 3
        case .p521: 4
        }
    }
}
