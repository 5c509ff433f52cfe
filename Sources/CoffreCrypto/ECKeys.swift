import COpenSSL
import Crypto

extension CurveName {
    /// The curve's name in OpenSSL.
    var openSSLGroup: String {
        switch self {
        case .p256: "prime256v1"
        case .p256k: "secp256k1"
        case .p384: "secp384r1"
        case .p521: "secp521r1"
        }
    }

    init?(openSSLGroup: String) {
        guard let curve = Self.allCases.first(where: { $0.openSSLGroup == openSSLGroup }) else { return nil }
        self = curve
    }

    /// The curve's base point G, uncompressed (`04‖x‖y`): with a private key d, ECDH against G yields the x-coordinate
    /// of d·G, the public key (how a PKCS#11 module gives the public point of a key unwrapped without one).
    public var generatorPoint: [UInt8] {
        guard let group = EC_GROUP_new_by_curve_name(OBJ_sn2nid(openSSLGroup)) else {
            preconditionFailure("OpenSSL knows no curve \(openSSLGroup)")
        }
        defer { EC_GROUP_free(group) }
        var point = [UInt8](repeating: 0, count: 1 + 2 * coordinateByteCount)
        let written = EC_POINT_point2oct(group, EC_GROUP_get0_generator(group), POINT_CONVERSION_UNCOMPRESSED, &point, point.count, nil)
        precondition(written == point.count, "OpenSSL wrote a generator of another size")
        return point
    }

    /// Left-pads a big-endian value to the curve's width; `nil` if it is wider (leading zero bytes aside).
    func padded(_ value: [UInt8]) -> [UInt8]? {
        let width = coordinateByteCount
        let significant = value.drop { $0 == 0 }
        guard significant.count <= width else { return nil }
        return [UInt8](repeating: 0, count: width - significant.count) + significant
    }
}

/// A digest computed by the caller, handed to swift-crypto's ECDSA, which signs any `Digest` through its bytes.
/// `H` names the hash of the algorithm, so `byteCount` tells the truth.
private struct PrecomputedDigest<H: HashFunction>: Crypto.Digest {
    private let bytes: [UInt8]

    init(_ bytes: [UInt8]) throws {
        guard bytes.count == H.Digest.byteCount else { throw CryptoFailure.internal("digest length was not checked") }
        self.bytes = bytes
    }

    static var byteCount: Int { H.Digest.byteCount }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes(body)
    }

    func makeIterator() -> IndexingIterator<[UInt8]> { bytes.makeIterator() }

    var description: String { "PrecomputedDigest(\(bytes.count) bytes)" }
}

/// An EC public key: swift-crypto for the NIST curves, OpenSSL for secp256k1.
struct ECPublicKey: Sendable {
    fileprivate enum Backing: Sendable {
        case p256(P256.Signing.PublicKey)
        case p384(P384.Signing.PublicKey)
        case p521(P521.Signing.PublicKey)
        case secp256k1(OpenSSLKey)
    }

    let curve: CurveName
    /// The coordinates, each as wide as the curve (JWK `x`, `y`).
    let x: [UInt8]
    let y: [UInt8]
    private let backing: Backing

    /// A public key from its JWK members (shorter coordinates are left-padded); refuses a point off the curve.
    init(curve: CurveName, x: [UInt8], y: [UInt8]) throws {
        guard let x = curve.padded(x), let y = curve.padded(y) else {
            throw CryptoFailure.invalidKey("JSON Web Key: x and y must be at most \(curve.coordinateByteCount) bytes for \(curve.rawValue)")
        }
        let offCurve = CryptoFailure.invalidKey("JSON Web Key: (x, y) is not a point of \(curve.rawValue)")
        let backing: Backing
        do {
            switch curve {
            case .p256: backing = .p256(try P256.Signing.PublicKey(rawRepresentation: x + y))
            case .p384: backing = .p384(try P384.Signing.PublicKey(rawRepresentation: x + y))
            case .p521: backing = .p521(try P521.Signing.PublicKey(rawRepresentation: x + y))
            case .p256k:
                let key = try OpenSSLKey.ecKey(group: curve.openSSLGroup, x: x, y: y, d: nil)
                guard key.isConsistent(includingPrivateKey: false) else { throw offCurve }
                backing = .secp256k1(key)
            }
        } catch {
            throw offCurve
        }
        self.init(curve: curve, x: x, y: y, backing: backing)
    }

    fileprivate init(curve: CurveName, x: [UInt8], y: [UInt8], backing: Backing) {
        self.curve = curve
        self.x = x
        self.y = y
        self.backing = backing
    }

    fileprivate init(curve: CurveName, rawRepresentation raw: some Collection<UInt8>, backing: Backing) {
        let width = curve.coordinateByteCount
        self.init(curve: curve, x: Array(raw.prefix(width)), y: Array(raw.dropFirst(width)), backing: backing)
    }

    var subjectPublicKeyInfoDER: [UInt8] {
        get throws {
            switch backing {
            case .p256(let key): Array(key.derRepresentation)
            case .p384(let key): Array(key.derRepresentation)
            case .p521(let key): Array(key.derRepresentation)
            case .secp256k1(let key): try key.subjectPublicKeyInfoDER
            }
        }
    }

    /// `signature` is R‖S; any other length, or any value out of range, is simply not valid.
    func verify(digest: [UInt8], signature: [UInt8]) -> Bool {
        guard signature.count == 2 * curve.coordinateByteCount else { return false }
        switch backing {
        case .p256(let key):
            guard let signature = try? P256.Signing.ECDSASignature(rawRepresentation: signature),
                let digest = try? PrecomputedDigest<SHA256>(digest)
            else { return false }
            return key.isValidSignature(signature, for: digest)
        case .p384(let key):
            guard let signature = try? P384.Signing.ECDSASignature(rawRepresentation: signature),
                let digest = try? PrecomputedDigest<SHA384>(digest)
            else { return false }
            return key.isValidSignature(signature, for: digest)
        case .p521(let key):
            guard let signature = try? P521.Signing.ECDSASignature(rawRepresentation: signature),
                let digest = try? PrecomputedDigest<SHA512>(digest)
            else { return false }
            return key.isValidSignature(signature, for: digest)
        case .secp256k1(let key):
            guard let der = ECDSASignatureEncoding.der(fromRaw: signature, coordinateByteCount: curve.coordinateByteCount)
            else { return false }
            // No digest set: ECDSA takes the input as the digest.
            return key.verify(der, for: digest) { _ in true }
        }
    }
}

/// An EC private key, parsed once: swift-crypto for the NIST curves, OpenSSL for secp256k1.
struct ECPrivateKey: Sendable {
    private enum Backing: Sendable {
        case p256(P256.Signing.PrivateKey)
        case p384(P384.Signing.PrivateKey)
        case p521(P521.Signing.PrivateKey)
        /// The key, with its private scalar and PKCS#8 form read once (exports then need no call that could fail).
        case secp256k1(OpenSSLKey, d: [UInt8], pkcs8DER: [UInt8])
    }

    private let backing: Backing
    let publicKey: ECPublicKey

    var curve: CurveName { publicKey.curve }

    /// A uniformly random scalar below the group order (drawn again when it is not): one point multiplication.
    /// swift-crypto's own generation draws until the public key is compact-representable (twice on average) and runs
    /// a FIPS sign-and-verify self-test on each draw, which made it most of the cost of creating a P-256 key.
    static func generate(_ curve: CurveName) throws -> ECPrivateKey {
        if curve == .p256k { return try ECPrivateKey(secp256k1: OpenSSLKey.generateEC(group: curve.openSSLGroup)) }
        while true {
            var scalar = SecureRandom.bytes(curve.coordinateByteCount)
            if curve == .p521 { scalar[0] &= 0x01 } // 521 bits in 66 bytes
            if let key = try? ECPrivateKey(curve: curve, scalar: scalar) { return key }
        }
    }

    /// A key this engine wrote, read back from storage: not checked again.
    init(trustedPKCS8 der: [UInt8], curve: CurveName) throws {
        do {
            switch curve {
            case .p256: self.init(try P256.Signing.PrivateKey(derRepresentation: der))
            case .p384: self.init(try P384.Signing.PrivateKey(derRepresentation: der))
            case .p521: self.init(try P521.Signing.PrivateKey(derRepresentation: der))
            case .p256k: try self.init(secp256k1: OpenSSLKey(pkcs8DER: der))
            }
        } catch {
            throw CryptoFailure.invalidKey("the stored \(curve.rawValue) key cannot be read")
        }
    }

    /// A key from outside (PKCS#8 import), already parsed by OpenSSL: its full check, then the NIST curves move to
    /// swift-crypto through their private scalar.
    init(importing key: OpenSSLKey, curve: CurveName) throws {
        guard key.isConsistent(includingPrivateKey: true) else {
            throw CryptoFailure.invalidKey("the \(curve.rawValue) private key is not consistent")
        }
        if curve == .p256k {
            try self.init(secp256k1: key)
        } else {
            try self.init(curve: curve, scalar: try key.bigEndian(OSSL_PKEY_PARAM_PRIV_KEY, width: curve.coordinateByteCount))
        }
    }

    /// A key from its JWK members: d·G must be (x, y).
    init(importing jwk: JsonWebKey, curve: CurveName) throws {
        guard let x = jwk.x, let y = jwk.y else { throw CryptoFailure.invalidKey("JSON Web Key: an EC key needs x and y") }
        guard let d = jwk.d, !d.isEmpty else {
            throw CryptoFailure.invalidKey("JSON Web Key: an EC key to import needs its private key d")
        }
        let claimed = try ECPublicKey(curve: curve, x: x, y: y)
        guard let scalar = curve.padded(d) else {
            throw CryptoFailure.invalidKey("JSON Web Key: d must be at most \(curve.coordinateByteCount) bytes for \(curve.rawValue)")
        }
        if curve == .p256k {
            let key = try OpenSSLKey.ecKey(group: curve.openSSLGroup, x: claimed.x, y: claimed.y, d: scalar)
            guard key.isConsistent(includingPrivateKey: true) else {
                throw CryptoFailure.invalidKey("JSON Web Key: d does not match x and y")
            }
            try self.init(secp256k1: key)
        } else {
            try self.init(curve: curve, scalar: scalar)
        }
        guard publicKey.x == claimed.x, publicKey.y == claimed.y else {
            throw CryptoFailure.invalidKey("JSON Web Key: d does not match x and y")
        }
    }

    /// A NIST-curve key from its private scalar (fixed width); swift-crypto refuses 0 and values not below the order.
    private init(curve: CurveName, scalar: [UInt8]) throws {
        do {
            switch curve {
            case .p256: self.init(try P256.Signing.PrivateKey(rawRepresentation: scalar))
            case .p384: self.init(try P384.Signing.PrivateKey(rawRepresentation: scalar))
            case .p521: self.init(try P521.Signing.PrivateKey(rawRepresentation: scalar))
            case .p256k: throw CryptoFailure.internal("secp256k1 keys are built by OpenSSL")
            }
        } catch {
            throw CryptoFailure.invalidKey("the private key is out of range for \(curve.rawValue)")
        }
    }

    private init(secp256k1 key: OpenSSLKey) throws {
        guard key.isA("EC"), key.groupName == CurveName.p256k.openSSLGroup else {
            throw CryptoFailure.invalidKey("the key is not a secp256k1 key")
        }
        let width = CurveName.p256k.coordinateByteCount
        let d = try key.bigEndian(OSSL_PKEY_PARAM_PRIV_KEY, width: width)
        let publicKey = ECPublicKey(
            curve: .p256k, x: try key.bigEndian(OSSL_PKEY_PARAM_EC_PUB_X, width: width),
            y: try key.bigEndian(OSSL_PKEY_PARAM_EC_PUB_Y, width: width), backing: .secp256k1(key))
        self.backing = .secp256k1(key, d: d, pkcs8DER: try key.pkcs8DER)
        self.publicKey = publicKey
    }

    private init(_ key: P256.Signing.PrivateKey) {
        backing = .p256(key)
        publicKey = ECPublicKey(curve: .p256, rawRepresentation: key.publicKey.rawRepresentation, backing: .p256(key.publicKey))
    }

    private init(_ key: P384.Signing.PrivateKey) {
        backing = .p384(key)
        publicKey = ECPublicKey(curve: .p384, rawRepresentation: key.publicKey.rawRepresentation, backing: .p384(key.publicKey))
    }

    private init(_ key: P521.Signing.PrivateKey) {
        backing = .p521(key)
        publicKey = ECPublicKey(curve: .p521, rawRepresentation: key.publicKey.rawRepresentation, backing: .p521(key.publicKey))
    }

    /// The private scalar, as wide as the curve (JWK `d`).
    var scalar: [UInt8] {
        switch backing {
        case .p256(let key): Array(key.rawRepresentation)
        case .p384(let key): Array(key.rawRepresentation)
        case .p521(let key): Array(key.rawRepresentation)
        case .secp256k1(_, let d, _): d
        }
    }

    var pkcs8DER: [UInt8] {
        switch backing {
        case .p256(let key): Array(key.derRepresentation)
        case .p384(let key): Array(key.derRepresentation)
        case .p521(let key): Array(key.derRepresentation)
        case .secp256k1(_, _, let der): der
        }
    }

    /// Signs a digest of the curve's length (checked by the caller); the signature is R‖S.
    func sign(digest: [UInt8]) throws -> [UInt8] {
        switch backing {
        case .p256(let key): Array(try key.signature(for: PrecomputedDigest<SHA256>(digest)).rawRepresentation)
        case .p384(let key): Array(try key.signature(for: PrecomputedDigest<SHA384>(digest)).rawRepresentation)
        case .p521(let key): Array(try key.signature(for: PrecomputedDigest<SHA512>(digest)).rawRepresentation)
        case .secp256k1(let key, _, _):
            try ECDSASignatureEncoding.raw(
                fromDER: key.sign(digest) { _ in true }, coordinateByteCount: CurveName.p256k.coordinateByteCount)
        }
    }
}
